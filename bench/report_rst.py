"""The figures of one ``run_all.py`` run as reStructuredText tables, ready to
paste into docs/performance.rst: what was measured, on what machine, and each goal
next to what was measured (met or not).

    python bench/report_rst.py [results/latest.json [results/latest.rst]]
"""

import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

STORE_ROWS = [
    ("ping", "PING round trip (the limit)"),
    ("bare_load", "bare minimum load: ``GET`` + ``json.loads`` + session object"),
    ("load", "load: ``get()`` of a logged-in session"),
    ("bare_save", "bare minimum save: ``json.dumps`` + ``SET ... EX``"),
    ("save", "save of a real change (one ``SET ... EX``)"),
    ("login", "login: a new session's first save, joining its indexes"),
    ("unchanged_save", "save with nothing changed"),
    ("sliding_refresh", "sliding refresh (touch due)"),
    ("older_set_expire", "older module: ``SET`` + ``EXPIRE``, same bytes"),
    ("older_whole_save", "older module: ``json.dumps`` + ``SET`` + ``EXPIRE``"),
    ("request", "request: load + unchanged save"),
    ("hashed_request", "the same request, ids hashed at rest (``HASH_IDS``)"),
    ("older_request", "older module's request: ``GET``, ``SET``, ``EXPIRE``"),
]


def parsers(by_parser):
    """The parsers of ``by_parser`` (figures keyed by parser), pure Python
    first: JSON keeps no order."""
    return [parser for parser in ("python", "hiredis") if parser in by_parser]


def parser_label(parser):
    return "pure-Python parser" if parser == "python" else parser


def simple_table(header, rows):
    """An RST simple table; every cell is text, the first never empty."""
    table = [header] + rows
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    border = " ".join("=" * width for width in widths)
    lines = [border, " ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip(), border]
    lines += [" ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + [border])


def machine_line(results):
    machine, versions = results["machine"], results["store"]["versions"]
    hiredis = ", hiredis %s" % versions["hiredis"] if versions["hiredis"] else ""
    return (
        "Measured %s on %s (%d cores, %.0f GiB, load average %.2f at the start), Linux %s; "
        "Python %s, Odoo %s, Redis %s on loopback, redis-py %s%s; whole run %.0f s."
        % (
            results["date"],
            machine["cpu"],
            machine["cores"],
            machine["memory_gib"],
            machine["load_average_at_start"],
            machine["kernel"],
            versions["python"],
            machine["odoo"],
            versions["redis_server"],
            versions["redis_py"],
            hiredis,
            results["run_seconds"],
        )
    )


def store_table(store):
    measured = parsers(store["ratios"])
    micro = store["microseconds"]
    header = ["Operation"] + ["µs, %s" % parser_label(p) for p in measured]
    header.append("Redis commands")
    rows = [
        [label]
        + ["%.1f" % micro["%s/%s" % (p, name)] for p in measured]
        + ["%g" % store["commands_per_call"][name]]
        for name, label in STORE_ROWS
    ]
    for name in ("load", "save"):
        rows.append(
            ["%s filesystem store: %s" % (store["odoo"], name), "%.1f" % micro["filesystem/" + name]]
            + [""] * (len(measured) - 1)
            + ["0"]
        )
    for name, label in (
        ("encode", "this store's JSON codec alone: encode"),
        ("decode", "this store's JSON codec alone: decode"),
        ("odoo_session", "Odoo's session object alone: construction"),
    ):
        rows.append([label, "%.1f" % micro["codec/" + name]] + [""] * (len(measured) - 1) + ["0"])
    return simple_table(header, rows)


def machine_state_table(results):
    """The store's own µs on top of a PING and the goal ratios, with the
    machine idle (``store``) and with another core kept busy by a loop
    (``store_busy_core``): a virtual machine's loopback round trip depends
    on whether its cores idle. The last row gives the round trip from which
    the ≤ 1.2 × PING goals would hold if the store's own µs stayed the same."""
    runs = [("idle", results["store"]), ("busy core", results["store_busy_core"])]
    columns = [(state, store, parser) for state, store in runs for parser in parsers(store["ratios"])]
    header = ["Loopback, machine"] + ["%s, %s" % (state, parser) for state, _store, parser in columns]

    def row(label, value):
        return [label] + [value(store, parser) for _state, store, parser in columns]

    rows = [
        row("PING, µs", lambda store, p: "%.1f" % store["microseconds"]["%s/ping" % p]),
        row("load, µs above PING", lambda store, p: "%.1f" % store["microseconds_above_ping"][p]["load"]),
        row("save, µs above PING", lambda store, p: "%.1f" % store["microseconds_above_ping"][p]["save"]),
        row("load / PING (goal ≤ 1.2)", lambda store, p: "%.2f" % store["ratios"][p]["load_per_ping"]),
        row("save / PING (goal ≤ 1.2)", lambda store, p: "%.2f" % store["ratios"][p]["save_per_ping"]),
        row(
            "``SET`` + ``EXPIRE`` / save (goal ≥ 1.8)",
            lambda store, p: "%.2f" % store["ratios"][p]["older_set_expire_per_save"],
        ),
        row(
            "both ≤ 1.2 × PING from a PING of",
            lambda store, p: "%.0f µs" % (5 * max(store["microseconds_above_ping"][p].values())),
        ),
    ]
    return simple_table(header, rows)


def odoo_table(odoo):
    header = ["Request", "ms, Redis", "ms, files", "Redis / files", "Redis commands (older module)"]
    rows = []
    for kind, label in (
        ("get_session_info", "logged-in ``get_session_info``"),
        ("web_login", "``GET /web/login``, visitor"),
    ):
        rows.append(
            [
                label,
                "%.2f" % odoo["milliseconds"]["redis"][kind],
                "%.2f" % odoo["milliseconds"]["filesystem"][kind],
                "%.3f" % odoo["redis_per_filesystem"][kind],
                "%.2f (%.1f)"
                % (odoo["redis_commands_per_request"][kind], odoo["older_module_commands_per_request"]),
            ]
        )
    return simple_table(header, rows)


def migration_table(migration):
    header = ["Copy of %d session files" % migration["sessions"], "sessions/s", "seconds"]
    alone = migration["read_and_encode_only"]
    rows = [
        [
            "reading and encoding alone, no Redis",
            "%.0f" % alone["sessions_per_second"],
            "%.1f" % alone["seconds"],
        ]
    ]
    for parser in parsers(migration["copies"]):
        copy = migration["copies"][parser]
        for name, label in (
            ("one_at_a_time", "one ``SET`` per round trip"),
            ("pipelined", "``copy_fs_sessions`` (pipelined, streamed)"),
        ):
            rows.append(
                [
                    "%s, %s" % (label, parser_label(parser)),
                    "%.0f" % copy[name]["sessions_per_second"],
                    "%.1f" % copy[name]["seconds"],
                ]
            )
    rows.append(["writing the files as Odoo 11 does", "", "%.1f" % migration["writing_files_seconds"]])
    for size, peak in sorted(migration["tracemalloc_peak_bytes"].items(), key=lambda item: int(item[0])):
        rows.append(
            ["``copy_fs_sessions`` tracemalloc peak, %s sessions" % size, "%.0f KiB" % (peak / 1024.0), ""]
        )
    return simple_table(header, rows)


def goals(results):
    """``(figure, measured text, goal text, met)`` for each goal (issues 5 and 13)."""
    store, odoo, migration = results["store"], results["odoo"], results["migration"]
    ratios = store["ratios"]

    def both(name):
        values = [ratios[p][name] for p in parsers(store["ratios"])]
        text = "%.2f" % values[0] + ("" if len(values) == 1 else " (hiredis %.2f)" % values[1])
        return text, values

    rows = []
    for name, label, goal, met in (
        ("load_per_ping", "store load / PING", "≤ 1.2", lambda v: v <= 1.2),
        ("save_per_ping", "store save / PING", "≤ 1.2", lambda v: v <= 1.2),
        ("older_set_expire_per_save", "older ``SET`` + ``EXPIRE`` / store save", "≥ 1.8", lambda v: v >= 1.8),
        ("older_request_per_request", "older module's request / store request", "none", None),
    ):
        text, values = both(name)
        rows.append((label, text, goal, None if met is None else all(met(v) for v in values)))
    for kind, label in (
        ("get_session_info", "Odoo ``get_session_info``: Redis / files"),
        ("web_login", "Odoo ``/web/login``: Redis / files"),
    ):
        value = odoo["redis_per_filesystem"][kind]
        rows.append((label, "%.3f" % value, "≤ 1.02", value <= 1.02))
    value = odoo["redis_commands_per_request"]["get_session_info"]
    rows.append(("Redis commands per logged-in request", "%.2f" % value, "older: 3.0", value < 3.0))
    values = migration["pipelined_per_one_at_a_time"]
    others = "".join(" (%s %.1f)" % (parser, values[parser]) for parser in parsers(values)[1:])
    text = "%.1f%s" % (values["python"], others)
    rows.append(("migration: pipelined / one at a time", text, "≥ 10", min(values.values()) >= 10))
    value = migration["read_and_encode_only_per_one_at_a_time"]
    rows.append(("migration: no-Redis ceiling / one at a time", "%.1f" % value, "none", None))
    peaks = sorted(migration["tracemalloc_peak_bytes"].items(), key=lambda item: int(item[0]))
    growth = peaks[-1][1] / float(peaks[0][1])
    rows.append(
        (
            "migration memory peak, %s / %s" % (peaks[-1][0], peaks[0][0]),
            "%.2f" % growth,
            "flat (≈ 1)",
            growth < 1.5,
        )
    )
    for series, run in store_runs(results):
        for name, label in (("load_per_bare_load", "load"), ("save_per_bare_save", "save")):
            value = run["ratios"]["python"][name]
            rows.append(
                ("%s: store %s / bare minimum" % (series, label), "%.2f" % value, "≤ 1.15", value <= 1.15)
            )
        value = run["commands_per_call"]["request"]
        rows.append(("%s: Redis commands per unchanged request" % series, "%.2f" % value, "1.00", value == 1))
    for series, index in index_runs(results):
        value = index["by_size"][str(index["sessions"])]["revoke"]["index"]["milliseconds"]
        label = "%s: revoke one user's %d sessions among %d" % (
            series,
            index["user_sessions"],
            index["sessions"],
        )
        rows.append((label, "%.1f ms" % value, "< 100 ms", value < 100))
    writes = odoo["cookieless"]["redis_writes"]
    rows.append(
        (
            "Redis writes of %d cookie-less requests" % odoo["cookieless"]["requests"],
            str(writes),
            "0",
            writes == 0,
        )
    )
    return rows


def goals_table(results):
    answer = {True: "yes", False: "**no**", None: "—"}
    rows = [[figure, measured, goal, answer[met]] for figure, measured, goal, met in goals(results)]
    return simple_table(["Figure", "Measured", "Goal", "Met"], rows)


def bytes_table(results):
    header = ["Bytes per session", "Redis ``MEMORY USAGE``", "Redis value", "Odoo's own file"]
    rows = []
    sources = [(odoo + ", synthetic", store["session_bytes"]) for odoo, store in store_runs(results)]
    sources.insert(1, ("Odoo 11.0, real", results["odoo"]["session_bytes"]))
    for source, figures in sources:
        for kind in ("logged_in", "anonymous"):
            sizes = figures[kind]
            rows.append(
                [
                    "%s, %s" % (kind.replace("_", "-"), source),
                    str(sizes["redis_memory_usage"]),
                    str(sizes["redis_value_bytes"]),
                    str(sizes["file_bytes"]),
                ]
            )
    return simple_table(header, rows)


def index_runs(results):
    """``(Odoo label, figures)`` of each index benchmark of the run."""
    return [(results[name]["odoo"], results[name]) for name in ("index", "index_18") if name in results]


def index_table(results):
    rows = []
    for odoo, index in index_runs(results):
        for size, figures in sorted(index["by_size"].items(), key=lambda item: int(item[0])):
            revoke = figures["revoke"]
            among = "%s, among %s sessions" % (odoo, "{:,}".format(int(size)))
            rows.append(
                [
                    "%s: revoke one user's %d through the per-user index" % (among, index["user_sessions"]),
                    "%.1f ms" % revoke["index"]["milliseconds"],
                ]
            )
            rows.append(
                [
                    "%s: the same by SCAN of every session (before the index)" % among,
                    "%.0f ms (%.0f× the index)" % (revoke["scan"]["milliseconds"], figures["scan_per_index"]),
                ]
            )
            if "device" in revoke:
                rows.append(
                    [
                        "%s: revoke one device through the device index" % among,
                        "%.1f ms" % revoke["device"]["milliseconds"],
                    ]
                )
            if int(size) == index["sessions"]:
                rows.append(
                    [
                        "%s: Redis ``used_memory`` per logged-in session, index keys included" % among,
                        "%.0f bytes" % figures["used_memory_per_session"],
                    ]
                )
    cookieless = results["odoo"]["cookieless"]
    rows.append(
        [
            "%d cookie-less requests through Odoo 11 (crawler, probe)" % cookieless["requests"],
            "%d Redis writes" % cookieless["redis_writes"],
        ]
    )
    return simple_table(["Figure", "Measured"], rows)


SERIES_ROWS = [
    ("bare_load", "bare minimum load"),
    ("load", "load"),
    ("bare_save", "bare minimum save"),
    ("save", "save of a real change"),
    ("login", "login (first save)"),
    ("request", "request: load + unchanged save"),
    ("hashed_request", "the same, ids hashed at rest"),
    ("sliding_refresh", "sliding refresh (touch due)"),
]


def store_runs(results):
    """``(Odoo label, figures)`` of each idle store benchmark of the run."""
    return [(results[name]["odoo"], results[name]) for name in ("store", "store_18") if name in results]


def series_table(results):
    """The store on each Odoo, pure-Python parser: µs, commands, and the
    ratios to the bare minimum (goal ≤ 1.15)."""
    runs = store_runs(results)
    header = ["Pure-Python parser"]
    for odoo, _store in runs:
        header += ["%s, µs" % odoo, "commands"]
    rows = []
    for name, label in SERIES_ROWS:
        row = [label]
        for _odoo, store in runs:
            row += ["%.1f" % store["microseconds"]["python/" + name], "%g" % store["commands_per_call"][name]]
        rows.append(row)
    for name, label in (
        ("load_per_bare_load", "load / bare minimum (goal ≤ 1.15)"),
        ("save_per_bare_save", "save / bare minimum (goal ≤ 1.15)"),
        ("hashed_request_per_request", "request, ids hashed / not"),
    ):
        row = [label]
        for _odoo, store in runs:
            row += ["%.2f" % store["ratios"]["python"][name], ""]
        rows.append(row)
    return simple_table(header, rows)


def http_table(http):
    """bench/http_bench.py's figures: each store against Odoo's files."""
    rows = [
        [
            row["store"],
            row.get("request", "read"),
            str(row["clients"]),
            "%.0f" % row["requests_per_second"],
            "%.3f" % row["rate_ratio"],
            "%.3f-%.3f" % tuple(row["rate_ratio_interval"]) if "rate_ratio_interval" in row else "",
            "%.2f" % row["p50_ms"],
            "%.2f" % row["p99_ms"],
            "%.3f" % row["p50_ratio"],
            "%.0f" % row["odoo_cpu_us"] if "odoo_cpu_us" in row else "",
            "%.3f" % row["odoo_cpu_ratio"] if "odoo_cpu_ratio" in row else "",
            "%.0f" % row["redis_cpu_us"] if "redis_cpu_us" in row else "",
        ]
        for row in http["rows"]
    ]
    header = [
        "Store",
        "Request",
        "Clients",
        "req/s",
        "req/s / files",
        "95 % interval",
        "p50 ms",
        "p99 ms",
        "p50 / files",
        "Odoo CPU µs",
        "/ files",
        "Redis CPU µs",
    ]
    return simple_table(header, rows)


def read_path_table(read_path):
    """bench/read_path_bench.py's figures: a read through Odoo in one process."""
    rows = [
        [
            row["store"],
            "%.1f" % row["us_per_request"],
            "%.3f" % row["ratio_to_files"],
            "%.1f" % row["us_in_store"],
            "%.3f" % row["store_ratio_to_files"],
        ]
        for row in read_path["rows"]
    ]
    return simple_table(["Store", "µs per request", "/ files", "µs in the store", "/ files"], rows)


def rst_report(results):
    store, odoo, migration = results["store"], results["odoo"], results["migration"]
    parts = [
        machine_line(results),
        "The store on each Odoo against the bare minimum any Redis store must do (median of %d "
        "batches × %d calls each):" % (store["batches"], store["calls_per_batch"]),
        series_table(results),
        "Session store, one process, µs per operation (median of %d batches × %d calls):"
        % (store["batches"], store["calls_per_batch"]),
        store_table(store),
        "What the store adds to a round trip (medians of the batches' differences), with the "
        "machine idle and with another core kept busy by a loop (``store_bench.py --busy-core``):",
        machine_state_table(results),
        "Through Odoo 11, two nodes side by side, ms per request (median of %d paired "
        "batches × %d requests):" % (odoo["batches"], odoo["requests_per_batch"]),
        odoo_table(odoo),
        "Moving filesystem sessions to Redis:",
        migration_table(migration),
        bytes_table(results),
        "Ending sessions, the memory of a session, and what cookie-less requests write:",
        index_table(results),
        "Goals:",
        goals_table(results),
    ]
    for name in sorted(key for key in results if key.startswith("http_")):
        http = results[name]
        if http.get("skipped"):
            parts.append("Odoo %s over HTTP: not measured (%s)." % (name[len("http_") :], http["skipped"]))
            continue
        parts.append(
            "Odoo %s over HTTP, one prefork node (``--workers=2``) per store, ``wrk`` on loopback, %s "
            "(read: saves nothing; change: debug mode on and off in turn, a save each time), medians of "
            "%d rounds of %d s per cell, stores in a rotated order, the CPU time per request of the "
            "Odoo node and of the Redis server (``bench/http_bench.py``):"
            % (http["series"], http["request"], http["rounds"], http["seconds"])
        )
        parts.append(http_table(http))
    read_path = results.get("read_path_18")
    if read_path:
        parts.append(
            "Odoo %s in one process, %s through Odoo's WSGI application (werkzeug's test client), "
            "medians of %d batches of %d requests, stores in a rotated order (``bench/read_path_bench.py``):"
            % (read_path["series"], read_path["request"], read_path["batches"], read_path["requests"])
        )
        parts.append(read_path_table(read_path))
    return "\n\n".join(parts) + "\n"


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(RESULTS, "latest.json")
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(RESULTS, "latest.rst")
    with open(source) as handle:
        results = json.load(handle)
    with open(target, "w") as handle:
        handle.write(rst_report(results))


if __name__ == "__main__":
    main()
