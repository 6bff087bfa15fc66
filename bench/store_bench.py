"""How close the Redis session store comes to the bare minimum.

One process, one private redis-server on loopback, one redis-py client
(built by the addon's own ``make_client``, as Odoo uses it). Every store
operation is compared in the same run with the least any Redis store must
do: a save with ``json.dumps`` and one ``SET ... EX``, a load with one
``GET``, ``json.loads`` and Odoo's session object; with the PING round trip
(the network's floor), Odoo's own filesystem store and the older module's
save (``SET`` then ``EXPIRE``). Runs with the Odoo of the Python that runs
it (``.venv``: 11; ``.venv-18.0``: 18). Prints µs per operation and
ratios; it asserts nothing about timing.

With ``bench/.venv-hiredis`` present, the C parser hiredis is measured
too, each client pinned to one parser (``parsers.py``).

    .venv/bin/python bench/store_bench.py [--batches 35] [--calls 400] [--busy-core] [--json FILE]
"""

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import interleaved_medians, paired_ratio, private_redis, redis_calls, write_json
from odoo_series import LABEL, RedisStore, Session, filesystem_store, mark_for_saving
from parsers import REDIS_PY_VERSION, addon_client, hiredis_version, measured_parsers

from session_redis.core.codec import decode_session
from session_redis.core.store import encode_with_times

WEEK = 7 * 86400

# What Odoo 11 keeps for a logged-in user (OpenERPSession.authenticate and
# get_context) and for an anonymous shopper (setup_db, setup_lang and the
# cart of website_sale; a visitor with nothing but Odoo's defaults is not
# stored at all).
LOGGED_IN = {
    "db": "odoo_production",
    "uid": 2,
    "login": "admin",
    "session_token": "5f0c0a3d9b8e47a1c2d6e0f4b7a9c3e1d8f2a6b0c4e7d1f3a5b9c2e6d0f4a8b1",
    "context": {"lang": "en_US", "tz": "Europe/Brussels", "uid": 2},
}
ANONYMOUS = {
    "db": "odoo_production",
    "uid": None,
    "login": None,
    "session_token": None,
    "context": {"lang": "en_US"},
    "sale_order_id": 42,
    "website_sale_current_pl": 1,
}


def fresh(content):
    """A deep enough copy: the context dict must not be shared between sessions."""
    copy = dict(content)
    copy["context"] = dict(content["context"])
    return copy


def stored_session(store, content):
    """Save a new session with ``content``; return its id."""
    session = store.new()
    session.update(fresh(content))
    store.save(session)
    return session.sid


class SteppingClock(object):
    """A clock that jumps past the touch interval at each reading, so that
    every save of the store using it is a due sliding refresh."""

    def __init__(self, step):
        self.now = time.time()
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def redis_cases(server, parser):
    """The timed operations on one client; names match the report."""
    client = addon_client(server, parser)
    store = RedisStore(client, session_class=Session, expiration=WEEK)
    sliding_store = RedisStore(
        client, session_class=Session, expiration=WEEK, touch_interval=60, clock=SteppingClock(61)
    )

    load_sid = stored_session(store, LOGGED_IN)
    assert store.get(load_sid).uid == 2, "the stored session did not load"

    changing = store.get(stored_session(store, LOGGED_IN))
    languages = itertools.cycle(["fr_BE", "en_US"])

    def save_a_change():
        changing["context"]["lang"] = next(languages)
        store.save(changing)

    unchanged = store.get(stored_session(store, LOGGED_IN))
    mark_for_saving(unchanged)
    refreshed = sliding_store.get(stored_session(sliding_store, LOGGED_IN))

    older_key = "session:%s" % ("0" * 40)
    older_content = fresh(LOGGED_IN)
    same_bytes = encode_with_times(older_content, time.time(), time.time())

    def older_module_commands():
        """The older module's two commands, with the bytes this store writes."""
        client.set(older_key, same_bytes)
        client.expire(older_key, WEEK)

    def older_module_save():
        """camptocamp's session_redis save: plain json.dumps, SET, then EXPIRE."""
        client.set(older_key, json.dumps(older_content).encode("utf-8"))
        client.expire(older_key, WEEK)

    request_sid = stored_session(store, LOGGED_IN)
    older_request_key = "session:%s" % ("1" * 40)
    client.set(older_request_key, json.dumps(older_content).encode("utf-8"), ex=WEEK)

    def request():
        """A logged-in Odoo request that changes nothing: load, then the
        save Odoo asks for because it marked the session modified."""
        session = store.get(request_sid)
        mark_for_saving(session)
        store.save(session)

    def older_module_request():
        """The same request with the older module: GET, SET, EXPIRE."""
        session = Session(json.loads(client.get(older_request_key)), "1" * 40, False)
        client.set(older_request_key, json.dumps(dict(session)).encode("utf-8"))
        client.expire(older_request_key, WEEK)

    bare_key = store.key("bare")
    bare_content = fresh(LOGGED_IN)
    client.set(bare_key, json.dumps(bare_content), ex=WEEK)

    def bare_save():
        """The least a save can do: the same change, ``json.dumps``, one ``SET ... EX``."""
        bare_content["context"]["lang"] = next(languages)
        client.execute_command("SET", bare_key, json.dumps(bare_content), "EX", WEEK)

    def bare_load():
        """The least a load can do: ``GET``, ``json.loads``, Odoo's session object."""
        return Session(json.loads(client.get(bare_key)), load_sid, False)

    def login():
        """A new logged-in session: its first save, which joins its indexes."""
        stored_session(store, LOGGED_IN)

    hashing = RedisStore(client, session_class=Session, expiration=WEEK, hash_ids=True)
    hashed_sid = stored_session(hashing, LOGGED_IN)

    def hashed_request():
        """``request`` with ODOO_SESSION_REDIS_HASH_IDS: the key named by the id's SHA-256."""
        session = hashing.get(hashed_sid)
        mark_for_saving(session)
        hashing.save(session)

    return client, {
        "ping": client.ping,
        "bare_load": bare_load,
        "bare_save": bare_save,
        "login": login,
        "load": lambda: store.get(load_sid),
        "save": save_a_change,
        "unchanged_save": lambda: store.save(unchanged),
        "sliding_refresh": lambda: sliding_store.save(refreshed),
        "older_set_expire": older_module_commands,
        "older_whole_save": older_module_save,
        "request": request,
        "hashed_request": hashed_request,
        "older_request": older_module_request,
    }


def filesystem_cases(folder):
    """Odoo's own store."""
    store = filesystem_store(folder)
    loaded_sid = stored_session(store, LOGGED_IN)
    changing = store.get(stored_session(store, LOGGED_IN))
    languages = itertools.cycle(["fr_BE", "en_US"])

    def save_a_change():
        changing["context"]["lang"] = next(languages)
        store.save(changing)

    return {"load": lambda: store.get(loaded_sid), "save": save_a_change}


def codec_cases():
    """What separates a load and a save from a PING, without Redis: the
    JSON, and the Odoo session object that any store builds on a load."""
    content = fresh(LOGGED_IN)
    stored = encode_with_times(content, time.time(), time.time())
    decoded = decode_session(stored)
    return {
        "encode": lambda: encode_with_times(content, 1.0, 2.0),
        "decode": lambda: decode_session(stored),
        "odoo_session": lambda: Session(dict(decoded), "0" * 40, False),
    }


def commands_per_call(client, cases, calls=500):
    """Redis commands each operation sends (untimed pass)."""
    counts = {}
    for name, operation in cases.items():
        client.config_resetstat()
        for _ in range(calls):
            operation()
        counts[name] = sum(redis_calls(client).values()) / float(calls)
    return counts


def session_sizes(server, folder):
    """Bytes per session: Redis's MEMORY USAGE and value length, and the
    size of Odoo's own session file."""
    client = server.client()
    store = RedisStore(client, session_class=Session, expiration=WEEK)
    files = filesystem_store(folder)
    sizes = {}
    for kind, content in (("logged_in", LOGGED_IN), ("anonymous", ANONYMOUS)):
        key = store.key(stored_session(store, content))
        file_sid = stored_session(files, content)
        sizes[kind] = {
            "redis_memory_usage": client.memory_usage(key, samples=0),
            "redis_value_bytes": client.strlen(key),
            "file_bytes": os.path.getsize(files.get_session_filename(file_sid)),
        }
    return sizes


RATIOS = [
    # (name, numerator, denominator): "{p}" stands for the parser
    ("load_per_bare_load", "{p}/load", "{p}/bare_load"),
    ("save_per_bare_save", "{p}/save", "{p}/bare_save"),
    ("load_per_ping", "{p}/load", "{p}/ping"),
    ("save_per_ping", "{p}/save", "{p}/ping"),
    ("older_set_expire_per_save", "{p}/older_set_expire", "{p}/save"),
    ("older_whole_save_per_save", "{p}/older_whole_save", "{p}/save"),
    ("older_request_per_request", "{p}/older_request", "{p}/request"),
    ("hashed_request_per_request", "{p}/hashed_request", "{p}/request"),
    ("filesystem_load_per_load", "filesystem/load", "{p}/load"),
    ("filesystem_save_per_save", "filesystem/save", "{p}/save"),
]


def ratios(samples, parser):
    """Each ratio as the median of the batches' own ratios (paired)."""
    return {
        name: paired_ratio(samples[top.format(p=parser)], samples[bottom.format(p=parser)])
        for name, top, bottom in RATIOS
    }


def above_ping(samples, parser):
    """µs a load and a save add to a PING: the store's own work, which a
    longer round trip does not lengthen (median of paired differences)."""
    ping = samples["%s/ping" % parser]
    return {
        name: statistics.median(top - bottom for top, bottom in zip(samples["%s/%s" % (parser, name)], ping))
        for name in ("load", "save")
    }


def hashing_cost(samples, parser):
    """µs hashed ids add to a request (median of paired differences)."""
    pairs = zip(samples["%s/hashed_request" % parser], samples["%s/request" % parser])
    return statistics.median(hashed - plain for hashed, plain in pairs)


def run(batches, calls):
    parsers = measured_parsers()
    folder = tempfile.mkdtemp(prefix="session-redis-bench-files-")
    try:
        with private_redis() as server:
            cases, clients = {}, {}
            for parser in parsers:
                clients[parser], parser_cases = redis_cases(server, parser)
                cases.update(("%s/%s" % (parser, name), op) for name, op in parser_cases.items())
            cases.update(("filesystem/%s" % name, op) for name, op in filesystem_cases(folder).items())
            cases.update(("codec/%s" % name, op) for name, op in codec_cases().items())
            interleaved_medians(cases, 1, max(1, calls // 10))  # warm-up, discarded
            medians, samples = interleaved_medians(cases, batches, calls)
            commands = commands_per_call(
                clients["python"], {name: op for name, op in cases.items() if name.startswith("python/")}
            )
            sizes = session_sizes(server, folder)
            server_info = server.client().info("server")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "batches": batches,
        "calls_per_batch": calls,
        "microseconds": medians,
        "samples": samples,
        "commands_per_call": {name.split("/", 1)[1]: value for name, value in commands.items()},
        "ratios": {parser: ratios(samples, parser) for parser in parsers},
        "microseconds_above_ping": {parser: above_ping(samples, parser) for parser in parsers},
        "hashing_microseconds": {parser: hashing_cost(samples, parser) for parser in parsers},
        "session_bytes": sizes,
        "odoo": LABEL,
        "versions": {
            "python": platform.python_version(),
            "redis_server": server_info["redis_version"],
            "redis_py": REDIS_PY_VERSION,
            "hiredis": hiredis_version(),
        },
    }


LABELS = [
    ("ping", "PING round trip (the limit)"),
    ("bare_load", "bare minimum load: GET + json.loads + session"),
    ("bare_save", "bare minimum save: json.dumps + SET ... EX"),
    ("load", "load: get() of a logged-in session"),
    ("save", "save of a real change (one SET ... EX)"),
    ("login", "login: first save, joins its indexes"),
    ("unchanged_save", "save with nothing changed"),
    ("sliding_refresh", "sliding refresh (touch due)"),
    ("older_set_expire", "older module: SET + EXPIRE of the same bytes"),
    ("older_whole_save", "older module: json.dumps + SET + EXPIRE"),
    ("request", "request: load + unchanged save"),
    ("hashed_request", "the same request, ids hashed at rest"),
    ("older_request", "older module's request: GET, SET, EXPIRE"),
]


def report(figures):
    medians = figures["microseconds"]
    parsers = list(figures["ratios"])
    print(
        "Session store on %s, µs per operation (median of %d batches x %d calls), one process, "
        "private Redis %s on loopback"
        % (LABEL, figures["batches"], figures["calls_per_batch"], figures["versions"]["redis_server"])
    )
    print("  %-42s" % "" + "".join("%14s" % parser for parser in parsers) + "   Redis commands")
    for name, label in LABELS:
        row = "".join("%14.1f" % medians["%s/%s" % (parser, name)] for parser in parsers)
        print("  %-42s%s   %.2f" % (label, row, figures["commands_per_call"][name]))
    for name in ("load", "save"):
        print("  %-42s%14.1f" % (LABEL + " filesystem store: " + name, medians["filesystem/" + name]))
    for name in ("encode", "decode"):
        print("  %-42s%14.1f" % ("this store's JSON codec alone: " + name, medians["codec/" + name]))
    print("  %-42s%14.1f" % ("Odoo's session object alone: construction", medians["codec/odoo_session"]))
    print("µs the store adds to a PING here (its own work: a longer round trip does not add to it)")
    for parser in parsers:
        added = figures["microseconds_above_ping"][parser]
        print(
            "  %-8s load +%.1f, save +%.1f: both within 1.2 x PING from a round trip of %.0f µs"
            % (parser, added["load"], added["save"], 5 * max(added.values()))
        )
    print("Ratios (goal)")
    for parser in parsers:
        parser_ratios = figures["ratios"][parser]
        print(
            "  %-8s load/bare minimum %.2f (<= 1.15)   save/bare minimum %.2f (<= 1.15)"
            % (parser, parser_ratios["load_per_bare_load"], parser_ratios["save_per_bare_save"])
        )
        print(
            "  %-8s load/PING %.2f (<= 1.2)   save/PING %.2f (<= 1.2)   (SET+EXPIRE)/save %.2f (>= 1.8)"
            % (
                parser,
                parser_ratios["load_per_ping"],
                parser_ratios["save_per_ping"],
                parser_ratios["older_set_expire_per_save"],
            )
        )
        print(
            "  %-8s older whole save/save %.2f   older request/request %.2f"
            % ("", parser_ratios["older_whole_save_per_save"], parser_ratios["older_request_per_request"])
        )
        print(
            "  %-8s hashed ids: request %.2f x, +%.1f µs per request"
            % ("", parser_ratios["hashed_request_per_request"], figures["hashing_microseconds"][parser])
        )
    print("Bytes per session")
    for kind, sizes in figures["session_bytes"].items():
        print(
            "  %-10s Redis MEMORY USAGE %d (value %d bytes); %s file %d bytes"
            % (kind, sizes["redis_memory_usage"], sizes["redis_value_bytes"], LABEL, sizes["file_bytes"])
        )
    if "hiredis" not in parsers:
        print("(hiredis not measured: run bench/run once to create bench/.venv-hiredis)")


@contextlib.contextmanager
def busy_core(wanted):
    """A process spinning on a core of its own while the block runs."""
    if not wanted:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=35)
    parser.add_argument("--calls", type=int, default=400, help="calls per batch and operation")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--busy-core",
        action="store_true",
        help="keep another core busy with a loop while measuring: a virtual machine whose cores "
        "never idle answers a loopback round trip several times faster",
    )
    options = parser.parse_args()
    with busy_core(options.busy_core):
        figures = run(options.batches, options.calls)
    figures["busy_core"] = options.busy_core
    report(figures)
    write_json(options.json, figures)


if __name__ == "__main__":
    main()
