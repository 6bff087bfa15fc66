"""What Redis sessions cost a whole Odoo 11 request, next to files.

Two Odoo 11 nodes of one configuration run side by side on one fresh
database: one with Redis sessions (``ODOO_SESSION_REDIS=1``, a private
redis-server), one with Odoo's filesystem sessions (the addon loaded but
off). Short batches alternate between them, so a busy moment of the
shared machine slows both alike. Two requests: a logged-in JSON-RPC
``/web/session/get_session_info`` and the render of ``/web/login`` by a
visitor who keeps the cookie Odoo gave. Prints ms per request, the ratio
Redis/filesystem, and the Redis commands per request (``INFO
commandstats`` after ``CONFIG RESETSTAT``); asserts nothing about timing.
Then what cookie-less requests (a crawler, a probe) write to Redis.

    .venv/bin/python bench/odoo_bench.py [--batches 25] [--requests 20] [--json FILE]
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid

import requests
from benchlib import paired_ratio, private_redis, redis_calls, write_json

from session_redis.core.layout import session_key
from tests.support.servers import OdooNode, drop_database, make_database

OLDER_MODULE_COMMANDS = 3.0  # GET, SET, EXPIRE on every request


class Visitor(object):
    """One browser: a cookie jar holding one session of one node."""

    def __init__(self, node, session_id):
        self.node = node
        self.session_id = session_id
        self.http = requests.Session()
        self.http.cookies.set("session_id", session_id)

    def session_info(self):
        response = self.http.post(
            self.node.url + "/web/session/get_session_info",
            timeout=30,
            json={"jsonrpc": "2.0", "method": "call", "params": {}},
        )
        if response.status_code != 200 or "result" not in response.json():
            raise RuntimeError("get_session_info failed: %s %s" % (response.status_code, response.text[:300]))

    def login_page(self):
        response = self.http.get(self.node.url + "/web/login", timeout=30)
        if response.status_code != 200 or b"login" not in response.content:
            raise RuntimeError("/web/login failed: %s" % response.status_code)


def visitors(node):
    """A logged-in user and an anonymous visitor of ``node``."""
    anonymous_sid = requests.get(node.url + "/web/login", timeout=30).cookies["session_id"]
    return {
        "get_session_info": Visitor(node, node.login()).session_info,
        "web_login": Visitor(node, anonymous_sid).login_page,
    }


def milliseconds_per_request(send, count):
    start = time.perf_counter()
    for _ in range(count):
        send()
    return (time.perf_counter() - start) / count * 1e3


def measure(nodes, redis_client, batches, count):
    """Short batches, the two nodes taking turns for each request kind:
    ``{store: {request: [ms per request, one per batch]}}``, and the Redis
    commands the Redis node ran, by request kind.

    Others share this machine's two cores: the load changes from one second
    to the next. Each Redis batch is paired with the filesystem batch run
    right next to it, and the ratio is the median of these pairs' ratios.
    """
    sends = {store: visitors(node) for store, node in nodes.items()}
    for store_sends in sends.values():  # warm-up: templates, registry, caches
        for send in store_sends.values():
            milliseconds_per_request(send, 20)
    samples = {store: {kind: [] for kind in sends[store]} for store in sends}
    commands = {kind: {} for kind in sends["redis"]}
    order = list(sends)
    for batch in range(batches):
        for kind in sends["redis"]:
            for store in order[batch % 2 :] + order[: batch % 2]:
                if store == "redis":
                    redis_client.config_resetstat()
                samples[store][kind].append(milliseconds_per_request(sends[store][kind], count))
                if store == "redis":
                    for command, calls in redis_calls(redis_client).items():
                        commands[kind][command] = commands[kind].get(command, 0) + calls
    per_request = {kind: sum(calls.values()) / float(batches * count) for kind, calls in commands.items()}
    return samples, per_request, commands


def session_sizes(nodes, redis_client):
    """Bytes of the real sessions Odoo wrote: in Redis and in files. A
    visitor of /web/login holds nothing but Odoo's defaults: nothing in Redis."""
    sizes = {}
    logged_in = nodes["redis"].login()
    anonymous = requests.get(nodes["redis"].url + "/web/login", timeout=30).cookies["session_id"]
    for kind, sid in (("logged_in", logged_in), ("anonymous", anonymous)):
        key = session_key(sid)
        raw = redis_client.get(key)
        sizes[kind] = {
            "redis_memory_usage": redis_client.memory_usage(key, samples=0) or 0,
            "redis_value_bytes": redis_client.strlen(key),
            "redis_keys_in_value": sorted(json.loads(raw)) if raw else [],
        }
    fs = nodes["filesystem"]
    for kind, sid in (
        ("logged_in", fs.login()),
        ("anonymous", requests.get(fs.url + "/web/login", timeout=30).cookies["session_id"]),
    ):
        sizes[kind]["file_bytes"] = os.path.getsize(os.path.join(fs.session_folder, "werkzeug_%s.sess" % sid))
    return sizes


def run(batches, count):
    folder = tempfile.mkdtemp(prefix="session-redis-bench-odoo-")
    database = "session_redis_bench_%s" % uuid.uuid4().hex[:8]
    nodes = {}
    try:
        started = time.monotonic()
        make_database(database, os.path.join(folder, "init"))
        database_seconds = time.monotonic() - started
        filestore = os.path.join(folder, "init", "filestore")
        with private_redis() as server:
            nodes["redis"] = OdooNode(
                database,
                os.path.join(folder, "redis-node"),
                {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": server.url},
                filestore=filestore,
            )
            nodes["filesystem"] = OdooNode(
                database, os.path.join(folder, "filesystem-node"), {}, filestore=filestore
            )
            for node in nodes.values():
                node.start()
            client = server.client()
            samples, per_request, commands = measure(nodes, client, batches, count)
            sizes = session_sizes(nodes, client)
            cookieless = cookieless_requests(nodes["redis"], client, 10 * batches * count)
            for node in nodes.values():
                node.stop()
    finally:
        for node in nodes.values():
            node.stop()
        drop_database(database)
        shutil.rmtree(folder, ignore_errors=True)
    medians = {
        store: {kind: statistics.median(values) for kind, values in kinds.items()}
        for store, kinds in samples.items()
    }
    return {
        "batches": batches,
        "requests_per_batch": count,
        "database_creation_seconds": database_seconds,
        "milliseconds": medians,
        "samples": samples,
        "redis_per_filesystem": {
            kind: paired_ratio(samples["redis"][kind], samples["filesystem"][kind])
            for kind in medians["redis"]
        },
        "redis_commands_per_request": per_request,
        "redis_commands": commands,
        "older_module_commands_per_request": OLDER_MODULE_COMMANDS,
        "session_bytes": sizes,
        "cookieless": cookieless,
    }


def cookieless_requests(node, redis_client, count):
    """``count`` requests without a cookie (a crawler, a load-balancer probe):
    the Redis commands they cost, by name."""
    redis_client.config_resetstat()
    for number in range(count):
        path = ("/web/login", "/web/webclient/version_info", "/web")[number % 3]
        requests.get(node.url + path, timeout=30, allow_redirects=False)
    calls = redis_calls(redis_client)
    writes = sum(calls.get(name, 0) for name in ("set", "setex", "expire", "sadd", "del"))
    return {"requests": count, "redis_writes": writes, "redis_commands": calls}


def report(figures):
    print(
        "Through Odoo 11, ms per request (median of %d paired batches x %d requests; "
        "database created in %.0f s)"
        % (figures["batches"], figures["requests_per_batch"], figures["database_creation_seconds"])
    )
    print(
        "  %-34s %10s %12s %16s %22s" % ("", "Redis", "filesystem", "Redis/files", "Redis commands/request")
    )
    for kind, label in (
        ("get_session_info", "logged-in get_session_info (RPC)"),
        ("web_login", "GET /web/login (visitor)"),
    ):
        print(
            "  %-34s %10.2f %12.2f %16.3f %12.2f (older module: %.1f)"
            % (
                label,
                figures["milliseconds"]["redis"][kind],
                figures["milliseconds"]["filesystem"][kind],
                figures["redis_per_filesystem"][kind],
                figures["redis_commands_per_request"][kind],
                figures["older_module_commands_per_request"],
            )
        )
    print("  Redis/files: median of the paired batches' ratios; goal <= 1.02")
    print("  Redis commands by name: %s" % figures["redis_commands"])
    cookieless = figures["cookieless"]
    print(
        "  %d cookie-less requests (crawler, probe): %d Redis writes, commands %s"
        % (cookieless["requests"], cookieless["redis_writes"], cookieless["redis_commands"])
    )
    for kind, sizes in figures["session_bytes"].items():
        print(
            "  real %-10s session: Redis MEMORY USAGE %d (value %d bytes; 0: not stored); "
            "Odoo 11 file %d bytes; keys %s"
            % (
                kind,
                sizes["redis_memory_usage"],
                sizes["redis_value_bytes"],
                sizes["file_bytes"],
                ", ".join(sizes["redis_keys_in_value"]),
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--requests", type=int, default=20, help="requests per batch, node and kind")
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    figures = run(options.batches, options.requests)
    report(figures)
    write_json(options.json, figures)


if __name__ == "__main__":
    main()
