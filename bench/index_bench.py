"""Ending sessions among many, and what each session costs in Redis memory.

A private redis-server is filled with ``--sessions`` logged-in sessions of
1000 other users, each with its index entries as the store writes them (a
Lua loop on the server, so that filling a million takes seconds), plus the
sessions of the user to revoke, saved through the store. Then, at 10
sessions and at ``--sessions``: revoking that user through the per-user
index and by reading every session (SCAN, as ``revoke --login`` did before
the index); on Odoo 18+, revoking one device through the device index; and
Redis's ``used_memory`` per session, every key included. Runs with the Odoo
of the Python that runs it. Prints the figures; asserts nothing about timing.

    .venv/bin/python bench/index_bench.py [--sessions 1000000] [--json FILE]
    .venv-18.0/bin/python bench/index_bench.py [--sessions 1000000] [--json FILE]
"""

import time

from benchlib import main_of, private_redis
from odoo_series import LABEL, RedisStore, Session

from session_redis.core.jobs import revoke_sessions

USER_SESSIONS = 5
FILL_CHUNK = 50000
SMALL = 10

# Logged-in sessions of 1000 other users, shaped like Odoo's, with a week
# to live, and their entries in the per-user index (and, where ids name
# devices, the device index) as the store writes them. An id is the SHA-1
# of its number (40 hex characters), or on Odoo 18+ 84 characters whose
# first 42 name its device.
FILL = """
local long_ids = ARGV[3] == '1'
for number = tonumber(ARGV[1]), tonumber(ARGV[2]) do
    local uid = 10 + number % 1000
    local sid = redis.sha1hex(tostring(number))
    if long_ids then
        sid = sid .. redis.sha1hex('x' .. number) .. 'AAAA'
    end
    redis.call('SET', 'session:' .. sid,
        '{"context":{"lang":"en_US","tz":"Europe/Brussels","uid":' .. uid .. '},"db":"prod",'
        .. '"login":"user' .. uid .. '","session_token":"' .. redis.sha1hex('t' .. number) .. '",'
        .. '"uid":' .. uid .. ',"_session_redis":{"created":1,"touched":1,"indexed":1209601}}',
        'EX', 604800)
    local index = 'session:user:' .. uid .. ':prod'
    redis.call('SADD', index, sid)
    redis.call('EXPIRE', index, 1209600)
    if long_ids then
        local device = 'session:device:' .. string.sub(sid, 1, 42)
        redis.call('SADD', device, sid)
        redis.call('EXPIRE', device, 1209600)
    end
end
return 0
"""


def fill(store, count):
    long_ids = "1" if store.identifier_length else "0"
    for first in range(0, count, FILL_CHUNK):
        store.redis.eval(FILL, 0, first, min(first + FILL_CHUNK, count) - 1, long_ids)


def user_sessions(store, count=USER_SESSIONS, device=None):
    sids = []
    for _ in range(count):
        session = store.new()
        if device:
            session.sid = device + session.sid[len(device) :]
        session.update(db="prod", uid=2, login="target", session_token="x", context={"lang": "en_US"})
        store.save(session)
        sids.append(session.sid)
    return sids


def timed(revoke):
    started = time.perf_counter()
    revoked = revoke()
    return {"milliseconds": (time.perf_counter() - started) * 1000, "revoked": revoked}


def among(sessions):
    """Every figure with ``sessions`` other sessions in Redis."""
    with private_redis() as server:
        client = server.client()
        store = RedisStore(client, Session)
        empty = client.info("memory")["used_memory"]
        started = time.perf_counter()
        fill(store, sessions)
        figures = {"fill_seconds": time.perf_counter() - started}
        figures["used_memory_per_session"] = (client.info("memory")["used_memory"] - empty) / float(sessions)
        user_sessions(store)
        figures["keys"] = client.dbsize()
        figures["revoke"] = {"index": timed(lambda: store.end_user_sessions("prod", 2))}
        user_sessions(store)
        figures["revoke"]["scan"] = timed(lambda: revoke_sessions(store, login="target", db="prod").revoked)
        figures["scan_per_index"] = (
            figures["revoke"]["scan"]["milliseconds"] / figures["revoke"]["index"]["milliseconds"]
        )
        if store.identifier_length:
            device = store.generate_key()[: store.identifier_length]
            user_sessions(store, 2, device=device)
            figures["revoke"]["device"] = timed(lambda: store.end_identifiers([device]))
    return figures


def run(sessions):
    return {
        "odoo": LABEL,
        "sessions": sessions,
        "user_sessions": USER_SESSIONS,
        "by_size": {str(size): among(size) for size in sorted({SMALL, sessions})},
    }


def report(figures):
    print("Ending sessions on %s (the user to revoke has %d):" % (figures["odoo"], figures["user_sessions"]))
    for size, result in sorted(figures["by_size"].items(), key=lambda item: int(item[0])):
        memory = result["used_memory_per_session"]
        print(
            "  among %s sessions (%d keys, filled in %.1f s%s):"
            % (
                size,
                result["keys"],
                result["fill_seconds"],
                "; %.0f bytes of used_memory per session, all keys" % memory if int(size) > SMALL else "",
            )
        )
        for way, label in (
            ("index", "user, through the per-user index"),
            ("scan", "user, by SCAN of every session (before the index)"),
            ("device", "one device, through the device index"),
        ):
            if way in result["revoke"]:
                done = result["revoke"][way]
                print("    %-50s %10.1f ms  (%d revoked)" % (label, done["milliseconds"], done["revoked"]))


if __name__ == "__main__":
    main_of(run, report, 1000000, __doc__)
