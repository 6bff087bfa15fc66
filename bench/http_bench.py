"""A whole Odoo 16+ request that reads (or changes) its session, store
against store.

One prefork node (``--workers=2``, its websocket process beside) per store,
all on one fresh database of the series: Odoo's files (this addon loaded,
off), this store, this store with hashed ids, this store through Redis's
Unix socket instead of TCP, this store with its early read off
(``ODOO_SESSION_REDIS_READ_EARLY=0``: the ``GET`` sent when Odoo asks for
the session, as before it had one), and OCA's PostgreSQL store
``session_db`` (its wheel from PyPI, ``SESSION_DB_URI``) when it can be
had. The load is ``wrk`` (Debian's package) on loopback: a logged-in
``POST /web/session/check`` (JSON-RPC, ``auth="user"``, saves nothing), by
1 and by 16 connections; then the same request switching Odoo's debug mode
on and off in turn (``?debug=1``, ``?debug=0``), which changes and saves
the session each time. The stores take turns in an order rotated each
round, so that the machine's drifting load falls on all alike; the figures
are medians over the rounds: requests per second, p50 and p99 latency, and
the ratio of each to the files' of the same round, with the interval that
holds the median ratio 95 % sure (the sign test's, from the rounds' own
spread); the CPU time per request of the Odoo node (its processes,
workers included, and the ratio to the files') and of the Redis server
(which runs on the same two cores as Odoo and ``wrk`` here, and on its own
host in production). Asserts nothing.

    .venv/bin/python bench/http_bench.py [--series 18.0] [--rounds 30] [--seconds 1] [--json FILE]
        [--store 'redis, hashed ids' ...] [--cell read:16 ...]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
import zipfile

from benchlib import REPO, median_interval, private_redis, write_json

from tests.support.servers import OdooNode, drop_database, launcher, make_database, start_together

CLIENTS = (1, 16)
CHECK = "/web/session/check"
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "session_id=%s"
wrk.body = '{"jsonrpc": "2.0", "method": "call", "params": {}}'
"""
# The same request, its debug mode switched on and off in turn: Odoo sets
# the session's ``debug`` from the query string, so each one saves it.
CHANGING = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "%s?debug=" .. (counter %% 2))
end
"""
REQUESTS = ("read", "change")


def session_db_addon(series, folder):
    """OCA's session_db of the series, from PyPI, unpacked into an addons
    folder; None when pip cannot get it."""
    python = os.path.join(os.path.dirname(launcher(series)), "python")
    download = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "-d",
            folder,
            "odoo-addon-session-db==%s.*" % series,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )
    wheels = [name for name in os.listdir(folder) if name.endswith(".whl")]
    if download.returncode != 0 or not wheels:
        print("OCA session_db %s not measured: %s" % (series, download.stdout[-300:]))
        return None
    with zipfile.ZipFile(os.path.join(folder, wheels[0])) as wheel:
        wheel.extractall(folder)
    return os.path.join(folder, "odoo", "addons"), wheels[0]


def nodes_of(series, database, folder, redis_url, redis_socket):
    """``{store: node}``, not started."""
    common = dict(filestore=os.path.join(folder, "filestore"), workers=2, series=series)
    redis = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_url}
    nodes = {
        "files": OdooNode(database, os.path.join(folder, "files"), {}, **common),
        "redis": OdooNode(database, os.path.join(folder, "redis"), dict(redis), **common),
        # what the store did before its early read: the GET sent when Odoo asks
        "redis, no early read": OdooNode(
            database, os.path.join(folder, "late"), dict(redis, ODOO_SESSION_REDIS_READ_EARLY="0"), **common
        ),
        "redis, hashed ids": OdooNode(
            database, os.path.join(folder, "hashed"), dict(redis, ODOO_SESSION_REDIS_HASH_IDS="1"), **common
        ),
        # the same Redis through its Unix socket: what TCP on loopback costs
        "redis, unix socket": OdooNode(
            database,
            os.path.join(folder, "unix"),
            dict(redis, ODOO_SESSION_REDIS_URL="unix://%s?db=0" % redis_socket),
            **common,
        ),
    }
    found = session_db_addon(series, os.path.join(folder, "session_db"))
    if found:
        addons, wheel = found
        uri = "postgresql:///%s" % database
        node = OdooNode(
            database,
            os.path.join(folder, "session_db"),
            {"SESSION_DB_URI": uri},
            server_wide="base,web,session_db",
            addons_path=REPO + "," + addons,
            **common,
        )
        nodes["OCA session_db (%s)" % wheel.split("-")[1]] = node
    return nodes


def wrk(node, sid, clients, seconds, folder, request="read"):
    """``(requests per second, p50 ms, p99 ms, requests)`` of ``clients``
    connections sending ``request`` (``read``: the session unchanged;
    ``change``: saved by each request)."""
    script = os.path.join(folder, "check.lua")
    with open(script, "w") as handle:
        handle.write(WRK_SCRIPT % sid + (CHANGING % CHECK if request == "change" else ""))
    threads = min(clients, 2)
    run = subprocess.run(
        [
            "wrk",
            "-t%d" % threads,
            "-c%d" % clients,
            "-d%ds" % seconds,
            "--latency",
            "-s",
            script,
            node.url + CHECK,
        ],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    )
    if "Non-2xx" in run.stdout:
        raise RuntimeError("%s answered errors:\n%s" % (node.data_dir, run.stdout))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))
    requests = int(re.search(r"(\d+) requests in", run.stdout).group(1))
    return rate, latency(run.stdout, "50%"), latency(run.stdout, "99%"), requests


def node_cpu_seconds(pid):
    """CPU time (user and system) of process ``pid``, its live descendants
    and the children they reaped (Odoo's prefork workers are replaced)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            stats[int(entry)] = (int(fields[1]), sum(int(ticks) for ticks in fields[11:15]))
    tree, grown = {pid}, True
    while grown:
        found = {child for child, (parent, _ticks) in stats.items() if parent in tree}
        grown = not found <= tree
        tree |= found
    return sum(stats[member][1] for member in tree if member in stats) / os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds(client):
    """CPU time the Redis server has used so far (user and system)."""
    cpu = client.info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def latency(output, percentile):
    number, unit = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)$" % percentile, output, re.M).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(series, rounds, seconds, stores=None, kinds=None):
    folder = tempfile.mkdtemp(prefix="http-bench-")
    database = "session_redis_http_bench_%s" % uuid.uuid4().hex[:8]
    nodes = {}
    try:
        with private_redis(unix_socket=True) as redis_server:
            make_database(database, os.path.join(folder, "init"), series=series, modules="base,web")
            shutil.copytree(os.path.join(folder, "init", "filestore"), os.path.join(folder, "filestore"))
            socket = os.path.join(redis_server.folder, "redis.sock")
            nodes = nodes_of(series, database, folder, redis_server.url, socket)
            if stores:
                wanted = ["files"] + stores  # "OCA session_db" stands for it with its version
                nodes = {name: node for name, node in nodes.items() if name.split(" (")[0] in wanted}
            start_together(*nodes.values())
            return measure(nodes, series, rounds, seconds, folder, redis_server.client(), kinds)
    finally:
        for node in nodes.values():
            node.stop()
        drop_database(database)
        shutil.rmtree(folder, ignore_errors=True)


def measure(nodes, series, rounds, seconds, folder, redis_client, kinds=None):
    kinds = kinds or [(request, clients) for request in REQUESTS for clients in CLIENTS]
    sids = {store: node.login() for store, node in nodes.items()}
    for store, node in nodes.items():  # the first requests load Odoo's code and caches
        for request in {request for request, _clients in kinds}:
            wrk(node, sids[store], 2, 2, folder, request)
    cells = {(store, kind): [] for store in nodes for kind in kinds}
    stores = list(nodes)
    for number in range(rounds):
        order = stores[number % len(stores) :] + stores[: number % len(stores)]
        for request, clients in kinds:
            for store in order:
                pid = nodes[store].process.pid
                before = redis_cpu_seconds(redis_client), node_cpu_seconds(pid)
                rate, p50, p99, requests = wrk(nodes[store], sids[store], clients, seconds, folder, request)
                redis_us = (redis_cpu_seconds(redis_client) - before[0]) / requests * 1e6
                odoo_us = (node_cpu_seconds(pid) - before[1]) / requests * 1e6
                cells[store, (request, clients)].append((rate, p50, p99, redis_us, odoo_us))
        print("round %d/%d done" % (number + 1, rounds), file=sys.stderr)
    return figures_of(series, cells, stores, kinds, rounds, seconds)


def figures_of(series, cells, stores, kinds, rounds, seconds):
    rows = []
    for request, clients in kinds:
        for store in stores:
            mine, files = cells[store, (request, clients)], cells["files", (request, clients)]
            rate_ratios = [m[0] / f[0] for m, f in zip(mine, files)]
            rows.append(
                {
                    "store": store,
                    "request": request,
                    "clients": clients,
                    "requests_per_second": statistics.median(cell[0] for cell in mine),
                    "p50_ms": statistics.median(cell[1] for cell in mine),
                    "p99_ms": statistics.median(cell[2] for cell in mine),
                    # each round's ratio to the files' of the same round
                    "rate_ratio": statistics.median(rate_ratios),
                    # where that median lies, 95 % sure: this machine's noise
                    "rate_ratio_interval": median_interval(rate_ratios),
                    "p50_ratio": statistics.median(m[1] / f[1] for m, f in zip(mine, files)),
                    "redis_cpu_us": statistics.median(cell[3] for cell in mine),
                    "odoo_cpu_us": statistics.median(cell[4] for cell in mine),
                    "odoo_cpu_ratio": statistics.median(m[4] / f[4] for m, f in zip(mine, files)),
                }
            )
    return {
        "series": series,
        "rounds": rounds,
        "seconds": seconds,
        "request": "POST " + CHECK,
        "changed_by": "?debug=0 and ?debug=1 in turn",
        "rows": rows,
    }


def report(figures):
    print(
        "Odoo %s, one prefork node (--workers=2) per store, %s (change: %s), "
        "%d rounds of %d s per cell (medians)"
        % (
            figures["series"],
            figures["request"],
            figures["changed_by"],
            figures["rounds"],
            figures["seconds"],
        )
    )
    print(
        "%-30s %7s %7s %9s %7s %13s %8s %8s %9s %9s %9s %9s"
        % (
            "store",
            "request",
            "clients",
            "req/s",
            "ratio",
            "95 % CI",
            "p50 ms",
            "p99 ms",
            "p50 ratio",
            "Odoo µs",
            "ratio",
            "Redis µs",
        )
    )
    for row in figures["rows"]:
        print(
            "%-30s %7s %7d %9.0f %7.3f %13s %8.2f %8.2f %9.3f %9.0f %9.3f %9.1f"
            % (
                row["store"],
                row["request"],
                row["clients"],
                row["requests_per_second"],
                row["rate_ratio"],
                "%.3f-%.3f" % tuple(row["rate_ratio_interval"]),
                row["p50_ms"],
                row["p99_ms"],
                row["p50_ratio"],
                row["odoo_cpu_us"],
                row["odoo_cpu_ratio"],
                row["redis_cpu_us"],
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="18.0")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--store", action="append", help="only this store beside the files (repeatable): 'redis, hashed ids'"
    )
    parser.add_argument(
        "--cell", action="append", help="only this cell, request:clients (repeatable): read:16"
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        print("not measured: wrk is missing (apt-get install wrk)")
        write_json(options.json, {"skipped": "wrk missing", "series": options.series})
        return
    if not os.access(launcher(options.series), os.X_OK):
        print("not measured: no .venv-%s (make venvs)" % options.series)
        write_json(options.json, {"skipped": "no .venv-%s" % options.series, "series": options.series})
        return
    kinds = [(cell.split(":")[0], int(cell.split(":")[1])) for cell in options.cell or []]
    figures = run(options.series, options.rounds, options.seconds, options.store, kinds or None)
    report(figures)
    write_json(options.json, figures)


if __name__ == "__main__":
    main()
