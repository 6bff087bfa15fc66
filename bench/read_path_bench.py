"""Where a read of the session goes on Odoo 16+, inside one Odoo process.

Odoo's WSGI application (``odoo.http.root``) is called in this process by
werkzeug's test client: a logged-in ``POST /web/session/check`` (saves
nothing), with no network and no load generator in the way, so that what
differs between the stores is the store alone. Stores, in batches taking
turns in a rotated order: Odoo's files, this store with its early read off
(``READ_EARLY=0``: the ``GET`` sent when Odoo asks for the session), this
store, and this store with hashed ids. Prints µs per request (medians of
the batches) and the ratio of each to files, and the same for the µs spent
in the store (its ``get``, and ``prefetch`` where it has one: the session's
part of the request, without the noise of the rest of it); with
``--profile``, where the time of a request goes (cProfile, per store).
Asserts nothing.

Runs with the Python of an Odoo 16+ virtualenv, which it measures::

    .venv-18.0/bin/python bench/read_path_bench.py [--batches 9] [--requests 300] [--profile] [--json FILE]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid

from benchlib import REPO, private_redis, write_json

from tests.support.servers import drop_database, make_database

CHECK = "/web/session/check"
BODY = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}})
ENVIRON = {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost"}
STORES = ("files", "redis, no early read", "redis", "redis, hashed ids")


def odoo_with_addon(database, data_dir, redis_url):
    """Odoo's configuration for ``database`` with the addon loaded and on."""
    os.environ["ODOO_SESSION_REDIS"] = "1"
    os.environ["ODOO_SESSION_REDIS_URL"] = redis_url
    import odoo
    from odoo.tools import config

    config.parse_config(
        [
            "-d",
            database,
            "--db-filter",
            "^%s$" % database,
            "--load",
            "base,web,session_redis",
            "--addons-path",
            REPO,
            "--data-dir",
            data_dir,
            "--log-level",
            "warn",
        ]
    )
    odoo.service.server.load_server_wide_modules()
    # benchlib imported the addon before this configuration existed, so Odoo
    # skipped its post_load hook: the same call, made here
    sys.modules["odoo.addons.session_redis"].activate()


def stores(redis_url, folder):
    """``{name: (session store, its read_early)}`` for :data:`STORES`."""
    from odoo import http

    from session_redis.core.client import make_client
    from session_redis.core.settings import load_settings
    from session_redis.odoo16.patch import make_store

    os.makedirs(folder)
    files = http.FilesystemSessionStore(folder, session_class=http.Session, renew_missing=True)
    plain = http.root.session_store
    hashed_settings = load_settings(
        {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_url, "ODOO_SESSION_REDIS_HASH_IDS": "1"}
    )
    hashed = make_store(make_client(hashed_settings), hashed_settings)
    return {"files": files, "redis, no early read": plain, "redis": plain, "redis, hashed ids": hashed}


class Stopwatch:
    """Seconds spent in the session's part of the requests: the store's
    ``get`` and, where it has one, ``prefetch`` (timed on the instance)."""

    def __init__(self, stores_by_name):
        self.seconds = 0.0
        for store in {id(store): store for store in stores_by_name.values()}.values():
            for method in ("get", "prefetch"):
                if hasattr(store, method):
                    setattr(store, method, self.timed(getattr(store, method)))

    def timed(self, method):
        def call(*args):
            started = time.perf_counter()
            try:
                return method(*args)
            finally:
                self.seconds += time.perf_counter() - started

        return call


class Requests:
    """A logged-in client per store, and batches of requests through Odoo."""

    def __init__(self, database, stores_by_name):
        from odoo import http
        from werkzeug.test import Client

        self.http = http
        self.stores = stores_by_name
        self.pool = stores_by_name["redis"].early_reads.pool
        self.stopwatch = Stopwatch(stores_by_name)
        self.clients = {}
        for name in STORES:
            self.use(name)
            client = Client(http.root)
            answer = client.post(
                "/web/session/authenticate",
                data=json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "call",
                        "params": {"db": database, "login": "admin", "password": "admin"},
                    }
                ),
                content_type="application/json",
                environ_base=ENVIRON,
            )
            if '"uid": 2' not in answer.get_data(as_text=True):
                raise RuntimeError("login refused with %s: %s" % (name, answer.get_data(as_text=True)[:300]))
            self.clients[name] = client

    def use(self, name):
        store = self.stores[name]
        self.http.root.__dict__["session_store"] = store
        if name == "redis, no early read":
            store.early_reads.pool = None
        elif name == "redis":
            store.early_reads.pool = self.pool

    def batch(self, name, requests):
        """``(µs per request, of which in the store)`` of ``requests`` requests."""
        self.use(name)
        client = self.clients[name]
        self.stopwatch.seconds = 0.0
        started = time.perf_counter()
        for _ in range(requests):
            answer = client.post(CHECK, data=BODY, content_type="application/json", environ_base=ENVIRON)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200 or '"error"' in answer.get_data(as_text=True):
            raise RuntimeError("%s answered %s" % (name, answer.get_data(as_text=True)[:300]))
        return elapsed / requests * 1e6, self.stopwatch.seconds / requests * 1e6


def measure(requests_of, batches, requests):
    for name in STORES:  # warm-up: Odoo's caches and the connections
        requests_of.batch(name, 50)
    samples = {name: [] for name in STORES}
    for number in range(batches):
        order = STORES[number % len(STORES) :] + STORES[: number % len(STORES)]
        for name in order:
            samples[name].append(requests_of.batch(name, requests))
    rows = []
    for name in STORES:
        mine, files = samples[name], samples["files"]
        rows.append(
            {
                "store": name,
                "us_per_request": statistics.median(sample[0] for sample in mine),
                "ratio_to_files": statistics.median(m[0] / f[0] for m, f in zip(mine, files)),
                "us_in_store": statistics.median(sample[1] for sample in mine),
                "store_ratio_to_files": statistics.median(m[1] / f[1] for m, f in zip(mine, files)),
                "samples": mine,
            }
        )
    return rows


def profile(requests_of, requests):
    """``{store: text}``: cProfile of ``requests`` requests, the session's part."""
    texts = {}
    for name in STORES:
        profiler = cProfile.Profile()
        profiler.enable()
        requests_of.batch(name, requests)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(r"session_redis|redis/(client|connection)|_get_session_and_dbname|sessions\.py", 25)
        texts[name] = out.getvalue()
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=9)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="also print where a request's time goes")
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    import odoo.release

    folder = tempfile.mkdtemp(prefix="read-path-bench-")
    database = "session_redis_read_bench_%s" % uuid.uuid4().hex[:8]
    series = "%d.0" % odoo.release.version_info[0]
    try:
        with private_redis() as redis_server:
            make_database(database, os.path.join(folder, "init"), series=series, modules="base,web")
            odoo_with_addon(database, os.path.join(folder, "init"), redis_server.url)
            requests_of = Requests(database, stores(redis_server.url, os.path.join(folder, "files")))
            rows = measure(requests_of, options.batches, options.requests)
            texts = profile(requests_of, 1000) if options.profile else {}
    finally:
        drop_database(database)
        shutil.rmtree(folder, ignore_errors=True)
    print(
        "Odoo %s, in one process, POST %s, medians of %d batches of %d requests"
        % (series, CHECK, options.batches, options.requests)
    )
    print("%-22s %14s %9s %14s %9s" % ("store", "µs/request", "× files", "µs in store", "× files"))
    for row in rows:
        print(
            "%-22s %14.1f %9.3f %14.1f %9.3f"
            % (
                row["store"],
                row["us_per_request"],
                row["ratio_to_files"],
                row["us_in_store"],
                row["store_ratio_to_files"],
            )
        )
    for name, text in texts.items():
        print("\n===== %s\n%s" % (name, text))
    if options.json:
        write_json(
            options.json,
            {
                "series": series,
                "batches": options.batches,
                "requests": options.requests,
                "request": "POST " + CHECK,
                "rows": rows,
            },
        )


if __name__ == "__main__":
    sys.exit(main())
