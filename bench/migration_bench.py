"""How fast, and in how much memory, a site's sessions move into Redis.

Writes N session files as Odoo 11 does (werkzeug's FilesystemSessionStore
with OpenERPSession, four logged-in users in five), then copies them into
a private Redis, emptied before each copy (after timing the reading and
encoding alone, the floor of any copy): one ``SET`` per session and
round trip, as a naive script would, and with
``session_redis.core.fs_sessions.copy_fs_sessions`` (pipelined, streamed), each
with redis-py's pure-Python parser and, when ``parsers.py`` finds it, with
hiredis. Prints sessions per second of each and their ratios, then the
copy's tracemalloc peak on a tenth of the files and on all of them: a
streamed copy's peak does not grow with the number of sessions. Asserts
nothing about timing.

    .venv/bin/python bench/migration_bench.py [--sessions 100000] [--json FILE]
"""

import operator
import os
import shutil
import tempfile
import time
import tracemalloc

from benchlib import main_of, private_redis, ratio
from odoo.http import OpenERPSession
from parsers import addon_client, measured_parsers
from werkzeug.contrib.sessions import FilesystemSessionStore

from session_redis.core.fs_sessions import copy_fs_sessions, read_session_file, session_files
from session_redis.core.store import RedisSessionStore, encode_with_times, ttl_for


def odoo_session_content(number):
    """What Odoo 11 keeps: a logged-in user, or every fifth a visitor."""
    if number % 5 == 4:
        return {
            "db": "odoo_production",
            "uid": None,
            "login": None,
            "session_token": None,
            "context": {"lang": "en_US"},
        }
    uid = 2 + number % 300
    return {
        "db": "odoo_production",
        "uid": uid,
        "login": "user%d@example.com" % uid,
        "session_token": "%064x" % (number * 2654435761),
        "context": {"lang": "fr_BE" if number % 3 else "en_US", "tz": "Europe/Brussels", "uid": uid},
    }


def write_session_files(folder, count):
    """Save ``count`` sessions the way Odoo 11's session store does."""
    store = FilesystemSessionStore(folder, session_class=OpenERPSession)
    for number in range(count):
        session = store.new()
        session.update(odoo_session_content(number))
        store.save(session)


def linked_subset(folder, subset_folder, count):
    """Hard links to ``count`` of the session files: a smaller site for free."""
    os.makedirs(subset_folder)
    for number, (_sid, path) in enumerate(session_files(folder)):
        if number == count:
            break
        os.link(path, os.path.join(subset_folder, os.path.basename(path)))


def copy_one_at_a_time(folder, store):
    """The same work as copy_fs_sessions, one SET and round trip each."""
    now = store.clock()
    copied = 0
    for sid, path in session_files(folder):
        data = read_session_file(path)
        ttl = ttl_for(data, store.logged_in_expiration(), store.anonymous_expiration())
        copied += bool(store.redis.set(store.key(sid), encode_with_times(data, now, now), ex=ttl, nx=True))
    return copied


def read_and_encode_only(folder, store):
    """The copy without Redis: the floor any copy stands on."""
    now = store.clock()
    count = 0
    for _sid, path in session_files(folder):
        encode_with_times(read_session_file(path), now, now)
        count += 1
    return count


def timed(copy, folder, store, expected):
    """Sessions per second of one copy into an emptied Redis."""
    store.redis.flushall()
    start = time.perf_counter()
    result = copy(folder, store)
    seconds = time.perf_counter() - start
    copied = result if isinstance(result, int) else result.copied
    if copy is not read_and_encode_only:
        stored = sum(1 for _ in store.scan())  # sessions only: logged-in ones also join an index
        if copied != expected or stored != expected:
            raise RuntimeError("copied %s sessions, %d stored, expected %d" % (copied, stored, expected))
    return {"seconds": seconds, "sessions_per_second": expected / seconds}


def traced_peak(folder, store):
    """tracemalloc's peak while copy_fs_sessions copies ``folder``, in bytes."""
    store.redis.flushall()
    tracemalloc.start()
    try:
        copy_fs_sessions(folder, store)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(count):
    subset = max(1, min(10000, count // 10))
    folder = tempfile.mkdtemp(prefix="session-redis-bench-migration-")
    sessions, small = os.path.join(folder, "sessions"), os.path.join(folder, "subset")
    os.makedirs(sessions)
    try:
        start = time.perf_counter()
        write_session_files(sessions, count)
        writing_seconds = time.perf_counter() - start
        linked_subset(sessions, small, subset)
        with private_redis() as server:
            copies = {}
            for parser in measured_parsers():
                store = RedisSessionStore(addon_client(server, parser), session_class=OpenERPSession)
                if parser == "python":
                    without_redis = timed(read_and_encode_only, sessions, store, count)
                copies[parser] = {
                    "one_at_a_time": timed(copy_one_at_a_time, sessions, store, count),
                    "pipelined": timed(copy_fs_sessions, sessions, store, count),
                }
            store = RedisSessionStore(addon_client(server, "python"), session_class=OpenERPSession)
            peaks = {subset: traced_peak(small, store), count: traced_peak(sessions, store)}
            redis_memory = server.client().info("memory")["used_memory"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    speed = operator.itemgetter("sessions_per_second")
    return {
        "sessions": count,
        "writing_files_seconds": writing_seconds,
        "read_and_encode_only": without_redis,
        "copies": copies,
        "pipelined_per_one_at_a_time": {
            parser: ratio(speed(copy["pipelined"]), speed(copy["one_at_a_time"]))
            for parser, copy in copies.items()
        },
        "read_and_encode_only_per_one_at_a_time": ratio(
            speed(without_redis), speed(copies["python"]["one_at_a_time"])
        ),
        "tracemalloc_peak_bytes": {str(size): peak for size, peak in peaks.items()},
        "redis_used_memory_bytes": redis_memory,
    }


def report(figures):
    count = figures["sessions"]
    print(
        "Moving %d filesystem sessions to Redis (writing the files took %.1f s)"
        % (count, figures["writing_files_seconds"])
    )
    print(
        "  %-46s %9.0f sessions/s (%.1f s)"
        % (
            "reading + encoding alone, no Redis",
            figures["read_and_encode_only"]["sessions_per_second"],
            figures["read_and_encode_only"]["seconds"],
        )
    )
    for parser, copy in figures["copies"].items():
        for name, label in (
            ("one_at_a_time", "one SET per round trip"),
            ("pipelined", "copy_fs_sessions (pipelined, streamed)"),
        ):
            print(
                "  %-46s %9.0f sessions/s (%.1f s)"
                % ("%s, %s" % (label, parser), copy[name]["sessions_per_second"], copy[name]["seconds"])
            )
        print(
            "  pipelined / one at a time, %s: %.1fx (goal >= 10x)"
            % (parser, figures["pipelined_per_one_at_a_time"][parser])
        )
    print(
        "  reading + encoding alone / one at a time: %.1fx (what no one-process copy can beat)"
        % figures["read_and_encode_only_per_one_at_a_time"]
    )
    peaks = ", ".join(
        "%s sessions: %.0f KiB" % (size, peak / 1024.0)
        for size, peak in figures["tracemalloc_peak_bytes"].items()
    )
    print("  copy_fs_sessions tracemalloc peak: %s" % peaks)
    print(
        "  Redis used_memory with all sessions: %.1f MiB (%.0f bytes per session)"
        % (figures["redis_used_memory_bytes"] / 1048576.0, figures["redis_used_memory_bytes"] / float(count))
    )


if __name__ == "__main__":
    main_of(run, report, 100000, __doc__)
