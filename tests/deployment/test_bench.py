"""``make bench`` keeps working: a quick run of every benchmark writes the
results file and the README tables, with the figures that do not depend on
timing (commands per operation, copies, bytes). Timings themselves are
never asserted."""

import json
import os
import subprocess
import sys

from tests.support.servers import REPO

# A logged-in save that keeps its indexes is one SET; a login joins them:
# SADD and EXPIRE ... NX, EXPIRE ... GT for each index (one round trip).
COMMANDS = {
    "ping": 1,
    "bare_load": 1,
    "bare_save": 1,
    "load": 1,
    "save": 1,
    "login": 4,
    "unchanged_save": 0,
    "sliding_refresh": 1,
    "older_set_expire": 2,
    "older_whole_save": 2,
    "request": 1,
    "hashed_request": 1,
    "older_request": 3,
}


def test_quick_benchmark_run_writes_every_figure(tmp_path):
    run = subprocess.run(
        [sys.executable, os.path.join("bench", "run_all.py"), "--quick", "--results", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    with open(str(tmp_path / "latest.json")) as handle:
        results = json.load(handle)

    for name in ("store", "store_busy_core"):
        assert results[name]["commands_per_call"] == COMMANDS
        for parser, added in results[name]["microseconds_above_ping"].items():
            assert set(added) == {"load", "save"}, parser
        assert set(results[name]["hashing_microseconds"]) == set(results[name]["microseconds_above_ping"])
    sizes = results["store"]["session_bytes"]
    assert sizes["logged_in"]["redis_memory_usage"] > sizes["anonymous"]["redis_memory_usage"] > 0

    odoo = results["odoo"]
    # one GET per request; a sliding refresh (one SET a minute) may add a little
    assert set(odoo["redis_commands_per_request"]) == {"get_session_info", "web_login"}
    assert all(1.0 <= value < 1.05 for value in odoo["redis_commands_per_request"].values())
    assert odoo["session_bytes"]["logged_in"]["redis_value_bytes"] > 0
    assert odoo["session_bytes"]["anonymous"]["redis_value_bytes"] == 0  # a bare visitor is not stored
    assert odoo["cookieless"]["requests"] >= 300 and odoo["cookieless"]["redis_writes"] == 0

    # Odoo 18: the same commands, but a login joins the device index too
    assert results["store_18"]["commands_per_call"] == dict(COMMANDS, login=7)
    assert results["store_18"]["odoo"] == "Odoo 18.0"

    for name, ways in (("index", ("index", "scan")), ("index_18", ("index", "scan", "device"))):
        index = results[name]
        assert index["sessions"] == 20000 and index["user_sessions"] == 5
        assert sorted(index["by_size"], key=int) == ["10", "20000"]
        for figures in index["by_size"].values():
            assert sorted(figures["revoke"]) == sorted(ways)
            for way in ways:
                revoked = figures["revoke"][way]
                assert revoked["revoked"] == (2 if way == "device" else 5) and revoked["milliseconds"] > 0
        assert index["by_size"]["20000"]["used_memory_per_session"] > 0

    migration = results["migration"]
    assert migration["sessions"] == 5000
    assert sorted(migration["tracemalloc_peak_bytes"], key=int) == ["500", "5000"]
    for copies in migration["copies"].values():
        assert copies["pipelined"]["sessions_per_second"] > 0
        assert copies["one_at_a_time"]["sessions_per_second"] > 0

    with open(str(tmp_path / "latest.rst")) as handle:
        tables = handle.read()
    for heading in (
        "PING round trip (the limit)",
        "busy core",
        "Redis / files",
        "Copy of 5000",
        "Goals:",
        "Odoo 18.0, µs",
        "revoke one device through the device index",
    ):
        assert heading in tables
