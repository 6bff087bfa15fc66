"""Ending one user's sessions among many: through the per-user index, and
by reading every session (SCAN), as ``revoke --login`` did before the index.

A private redis-server is filled with ``--sessions`` logged-in sessions of
other users (a Lua loop on the server, so that filling a million takes
seconds), plus five sessions of the user to revoke, saved through the store
(so they are indexed). Each way then revokes those five; the sessions are
saved again in between. Prints the time of each way and their ratio;
asserts nothing about timing.

    .venv/bin/python bench/index_bench.py [--sessions 1000000] [--json FILE]
"""

import time

from benchlib import main_of, private_redis
from odoo.http import OpenERPSession

from session_redis.core.jobs import revoke_sessions
from session_redis.core.store import RedisSessionStore

USER_SESSIONS = 5
FILL_CHUNK = 50000

# Logged-in sessions of 1000 other users, shaped like Odoo's, each under a
# 40-hex id (the SHA-1 of its number) with a week to live.
FILL = """
for number = tonumber(ARGV[1]), tonumber(ARGV[2]) do
    local uid = 10 + number % 1000
    redis.call('SET', 'session:' .. redis.sha1hex(tostring(number)),
        '{"context":{"lang":"en_US","tz":"Europe/Brussels","uid":' .. uid .. '},"db":"prod",'
        .. '"login":"user' .. uid .. '","session_token":"' .. redis.sha1hex('t' .. number) .. '",'
        .. '"uid":' .. uid .. ',"_session_redis":{"created":1,"touched":1}}', 'EX', 604800)
end
return 0
"""


def fill(client, count):
    for first in range(0, count, FILL_CHUNK):
        client.eval(FILL, 0, first, min(first + FILL_CHUNK, count) - 1)


def user_sessions(store):
    for _ in range(USER_SESSIONS):
        session = store.new()
        session.update(db="prod", uid=2, login="target", session_token="x", context={"lang": "en_US"})
        store.save(session)


def timed(revoke):
    started = time.perf_counter()
    revoked = revoke()
    return {"milliseconds": (time.perf_counter() - started) * 1000, "revoked": revoked}


def run(sessions):
    with private_redis() as server:
        client = server.client()
        started = time.perf_counter()
        fill(client, sessions)
        fill_seconds = time.perf_counter() - started
        store = RedisSessionStore(client, OpenERPSession)
        user_sessions(store)
        keys = client.dbsize()
        by_index = timed(lambda: store.end_user_sessions("prod", 2))
        user_sessions(store)
        by_scan = timed(lambda: revoke_sessions(store, login="target", db="prod").revoked)
    return {
        "sessions": sessions,
        "keys": keys,
        "fill_seconds": fill_seconds,
        "user_sessions": USER_SESSIONS,
        "revoke": {"index": by_index, "scan": by_scan},
        "scan_per_index": by_scan["milliseconds"] / by_index["milliseconds"],
    }


def report(figures):
    print(
        "Revoking one user's %d sessions among %d (%d keys; filled in %.1f s):"
        % (figures["user_sessions"], figures["sessions"], figures["keys"], figures["fill_seconds"])
    )
    for way, label in (("index", "per-user index"), ("scan", "SCAN of every session (before the index)")):
        result = figures["revoke"][way]
        print("  %-42s %10.1f ms  (%d revoked)" % (label, result["milliseconds"], result["revoked"]))
    print("  SCAN / index: %.0f x" % figures["scan_per_index"])


if __name__ == "__main__":
    main_of(run, report, 1000000, __doc__)
