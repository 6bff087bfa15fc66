"""Draw one run's figures as a PNG: the store against its limit, Odoo with
Redis against Odoo with files, the migration, and each goal met or not.

Runs in its own virtualenv (``bench/.venv-plot``, a current Python with
matplotlib), because matplotlib no longer fits the Python 3.7 that Odoo 11
needs; it only reads the JSON that ``run_all.py`` wrote.

    bench/.venv-plot/bin/python bench/plot.py results/latest.json results/latest.png
"""

import json
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_rst import goals, machine_line, parsers  # noqa: E402

STORE_BARS = [
    ("ping", "PING (the limit)"),
    ("load", "load"),
    ("save", "save, real change"),
    ("unchanged_save", "save, nothing changed"),
    ("sliding_refresh", "sliding refresh"),
    ("older_set_expire", "older: SET + EXPIRE"),
    ("request", "request: load + save"),
    ("older_request", "older request: GET, SET, EXPIRE"),
]
COLOURS = {"python": "#4c72b0", "hiredis": "#55a868", "filesystem": "#c44e52", "redis": "#4c72b0"}


def label_bars(axes, bars, text_format):
    for bar in bars:
        width = bar.get_width()
        axes.text(
            width, bar.get_y() + bar.get_height() / 2, " " + text_format % width, va="center", fontsize=8
        )


def store_panel(axes, store):
    measured = parsers(store["ratios"])
    micro = store["microseconds"]
    names = [label for _name, label in STORE_BARS] + ["filesystem load", "filesystem save"]
    height = 0.8 / len(measured)
    for index, parser in enumerate(measured):
        values = [micro["%s/%s" % (parser, name)] for name, _label in STORE_BARS] + [0, 0]
        positions = [row + index * height for row in range(len(names))]
        bars = axes.barh(positions, values, height, label="Redis, %s parser" % parser, color=COLOURS[parser])
        label_bars(axes, [bar for bar in bars if bar.get_width()], "%.0f")
    files = axes.barh(
        [len(STORE_BARS), len(STORE_BARS) + 1],
        [micro["filesystem/load"], micro["filesystem/save"]],
        height,
        label="Odoo 11 files",
        color=COLOURS["filesystem"],
    )
    label_bars(axes, files, "%.0f")
    axes.set_yticks([row + height * (len(measured) - 1) / 2 for row in range(len(names))])
    axes.set_yticklabels(names, fontsize=9)
    axes.invert_yaxis()
    axes.set_xlabel("µs per operation (median; lower is better)")
    axes.set_title("Session store, one process, private Redis on loopback")
    axes.legend(fontsize=8, loc="upper right")
    axes.margins(x=0.15)


def odoo_panel(axes, odoo):
    kinds = [("get_session_info", "logged-in\nget_session_info"), ("web_login", "GET /web/login\n(visitor)")]
    width = 0.38
    for index, store in enumerate(("redis", "filesystem")):
        values = [odoo["milliseconds"][store][kind] for kind, _label in kinds]
        bars = axes.bar(
            [row + index * width for row in range(len(kinds))],
            values,
            width,
            label="Redis sessions" if store == "redis" else "filesystem sessions",
            color=COLOURS[store],
        )
        for bar in bars:
            axes.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                "%.2f" % bar.get_height(),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    axes.set_xticks([row + width / 2 for row in range(len(kinds))])
    axes.set_xticklabels(
        [
            "%s\nRedis/files %.3f, %.2f Redis cmd/req"
            % (label, odoo["redis_per_filesystem"][kind], odoo["redis_commands_per_request"][kind])
            for kind, label in kinds
        ],
        fontsize=9,
    )
    axes.set_ylabel("ms per request (median)")
    axes.set_title("Through Odoo 11: two nodes side by side")
    axes.legend(fontsize=8, loc="upper left")
    axes.margins(y=0.15)


def migration_panel(axes, migration):
    rows = [("reading + encoding\nalone, no Redis", migration["read_and_encode_only"], "#8c8c8c")]
    for parser in parsers(migration["copies"]):
        copy = migration["copies"][parser]
        rows.append(("one SET per\nround trip, %s" % parser, copy["one_at_a_time"], "#dd8452"))
        rows.append(("copy_fs_sessions\n(pipelined), %s" % parser, copy["pipelined"], COLOURS[parser]))
    values = [figures["sessions_per_second"] for _label, figures, _colour in rows]
    bars = axes.barh(range(len(rows)), values, color=[colour for _l, _f, colour in rows])
    label_bars(axes, bars, "%.0f/s")
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([label for label, _figures, _colour in rows], fontsize=8)
    axes.invert_yaxis()
    peaks = ", ".join(
        "%s: %.0f KiB" % (size, peak / 1024.0)
        for size, peak in sorted(migration["tracemalloc_peak_bytes"].items(), key=lambda item: int(item[0]))
    )
    axes.set_xlabel("sessions per second (higher is better)\ncopy's memory peak by sessions copied: " + peaks)
    axes.set_title("Moving %d filesystem sessions to Redis" % migration["sessions"])
    axes.margins(x=0.2)


def goals_panel(axes, results):
    axes.axis("off")
    rows = goals(results)
    cells = [
        [figure.replace("``", ""), measured, goal, {True: "yes", False: "no", None: "-"}[met]]
        for figure, measured, goal, met in rows
    ]
    table = axes.table(
        cellText=cells,
        colLabels=["Figure", "Measured", "Goal", "Met"],
        colWidths=[0.5, 0.24, 0.16, 0.1],
        bbox=[0, 0.1, 1, 0.85],
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    for row, (_figure, _measured, _goal, met) in enumerate(rows, start=1):
        if met is not None:
            table[row, 3].set_facecolor("#c8e6c9" if met else "#ffcdd2")
    axes.set_title("Goals of issue 5")


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source) as handle:
        results = json.load(handle)
    figure, axes = plt.subplots(2, 2, figsize=(16, 11))
    store_panel(axes[0][0], results["store"])
    odoo_panel(axes[0][1], results["odoo"])
    migration_panel(axes[1][0], results["migration"])
    goals_panel(axes[1][1], results)
    figure.suptitle(
        "session_redis benchmarks"
        + (" (quick run)" if results.get("quick") else "")
        + "\n"
        + textwrap.fill(machine_line(results).replace("``", ""), 170),
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(target, dpi=100)


if __name__ == "__main__":
    main()
