"""What the three benchmarks share: where the repository is, a private
Redis to measure against, timing in interleaved batches, and the JSON file
``run_all.py`` collects.

Importing this module puts the repository root on ``sys.path`` (so that
``session_redis`` and ``tests.support.servers`` import) and removes any
``ODOO_SESSION_REDIS*`` variable: the addon reads them when imported, and a
benchmark must measure its own settings, never the caller's. It also makes
``hiredis`` importable from ``bench/.venv-hiredis`` (``bench/run`` makes it)
when the project's venv lacks it: its site-packages folder is appended, so
that only ``hiredis`` comes from there. Import it before ``redis``.
"""

import contextlib
import gc
import glob
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)

for _name in [name for name in os.environ if name.startswith("ODOO_SESSION_REDIS")]:
    del os.environ[_name]
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def _addon_as_odoo_loads_it():
    """Odoo 16+ refuses models imported from outside ``odoo.addons``: there,
    ``session_redis`` is the addon Odoo would import, under both names."""
    import odoo.release

    if odoo.release.version_info[0] >= 16 and "session_redis" not in sys.modules:
        import importlib

        import odoo.addons

        odoo.addons.__path__.append(REPO)
        sys.modules["session_redis"] = importlib.import_module("odoo.addons.session_redis")


_addon_as_odoo_loads_it()
try:
    import hiredis  # noqa: F401
except ImportError:
    sys.path.extend(glob.glob(os.path.join(BENCH, ".venv-hiredis", "lib", "python3*", "site-packages")))


@contextlib.contextmanager
def private_redis(unix_socket=False):
    """A redis-server of our own on a free loopback port (never 6379's),
    in a temporary folder, stopped and removed afterwards; with
    ``unix_socket`` it also listens on ``<folder>/redis.sock``."""
    from tests.support.servers import RedisServer

    folder = tempfile.mkdtemp(prefix="session-redis-bench-redis-")
    extra = ["--unixsocket", os.path.join(folder, "redis.sock"), "--unixsocketperm", "700"]
    server = RedisServer(folder, extra_args=extra if unix_socket else []).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def microseconds_per_call(operation, calls):
    """Mean wall time of one ``operation()`` over ``calls`` calls, in µs."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(calls):
        operation()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved_medians(cases, batches, calls, measure=microseconds_per_call):
    """Median per case over ``batches`` rounds, each round running every
    case once (``calls`` calls) in a rotated order.

    Interleaving means a slow moment of the machine (other developers share
    its 2 cores) hits every case alike instead of one, and rotating the
    order keeps any case from always running right after the same other.
    """
    names = list(cases)
    samples = {name: [] for name in names}
    for round_number in range(batches):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(measure(cases[name], calls))
    return {name: statistics.median(values) for name, values in samples.items()}, samples


def redis_calls(client, exclude=("config", "info")):
    """Commands the server ran since the last ``CONFIG RESETSTAT``, by
    name, leaving out the benchmark's own bookkeeping commands."""
    stats = client.info("commandstats")
    calls = {}
    for name, stat in stats.items():
        command = name[len("cmdstat_") :]
        if command.split("|")[0] not in exclude:
            calls[command] = stat["calls"]
    return calls


def write_json(path, figures):
    if path:
        with open(path, "w") as handle:
            json.dump(figures, handle, indent=2, sort_keys=True)


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float("nan")


def paired_ratio(numerators, denominators):
    """Median of the ratios of batches run next to each other: the machine's
    load drifts, and two neighbouring batches see the same load."""
    return statistics.median(ratio(top, bottom) for top, bottom in zip(numerators, denominators))


def median_interval(values, confidence=0.95):
    """``(low, high)``: an interval that holds the true median with at
    least ``confidence``, from the order statistics of ``values`` (the
    sign test's interval: no assumption on their distribution). With fewer
    than 6 values no such interval exists at 95 %: ``(nan, nan)``."""
    ordered = sorted(values)
    count = len(ordered)
    # P(fewer than k of the values fall below the median) = P(Binomial(n, 1/2) < k)
    below, outside, k = 0.0, 0.0, 0
    while True:
        below += math.factorial(count) // (math.factorial(k) * math.factorial(count - k)) / 2**count
        if 2 * below > 1 - confidence:
            break
        outside, k = 2 * below, k + 1
    if k == 0 or 1 - outside < confidence:
        return float("nan"), float("nan")
    return ordered[k - 1], ordered[count - k]


def main_of(run, report, default_sessions, doc):
    """The command line every session-count benchmark has:
    ``[--sessions N] [--json FILE]``, then run, print and save the figures."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=default_sessions)
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    figures = run(options.sessions)
    report(figures)
    write_json(options.json, figures)
