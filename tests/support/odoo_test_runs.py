"""Odoo 16+'s own test runner, once with the addon off (sessions in files)
and once on (a private redis-server), on databases of their own: what
``tools/odoo-test-http`` (Odoo's ``test_http``) and ``tools/compat-oca``
(OCA addons from PyPI) compare, and the suite with them.

A run installs some modules with ``--test-enable`` and reads Odoo's log:
its summary line, the tests it started and the ones that failed, by addon.
"""

import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import time
import uuid

from tests.support.servers import REPO, RedisServer, copy_database, drop_database, free_port, launcher

# "3 failed, 1 error(s) of 150 tests when loading database 'x'"
SUMMARY = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# "... ERROR db odoo.addons.test_http.tests.test_x: FAIL: TestX.test_y" (the
# addon is "" for a logger outside odoo.addons: such a failure counts too)
FAILING = re.compile(
    r"^\S+ \S+ \d+ ERROR \S+ (?:odoo\.addons\.(\w+)\.)?\S+: (?:FAIL|ERROR): (.+?)\s*$", re.MULTILINE
)
# "... INFO db odoo.addons.test_http.tests.test_x: Starting TestX.test_y ..."
STARTING = re.compile(r"^\S+ \S+ \d+ INFO \S+ odoo\.addons\.(\w+)\.\S+: Starting (\S+) \.\.\.", re.MULTILINE)
OCA_REQUIREMENTS = os.path.join(REPO, "requirements-oca16plus.txt")
ON_LINE = "session_redis.activation: web sessions in Redis"
OFF_LINE = "session_redis.activation: off: web sessions stay in files"

Run = collections.namedtuple("Run", "series mode tests failed errors failing seconds redis_commands log")
Comparison = collections.namedtuple("Comparison", "series off on")


def oca_addons(series):
    """``{addon: version}``: the OCA wheels of ``series`` in
    requirements-oca16plus.txt (tools/bootstrap-series installs them)."""
    found = {}
    with open(OCA_REQUIREMENTS) as handle:
        for line in handle:
            match = re.match(r"odoo-addon-([\w-]+)==(%s\.\S+)" % re.escape(series), line)
            if match:
                found[match.group(1).replace("-", "_")] = match.group(2)
    return found


class RunFailed(RuntimeError):
    """Odoo did not get as far as its test summary."""


def parse_log(text):
    """``(tests, failed, errors, failing)`` from an Odoo 16+ test run's log;
    ``failing``: the sorted names (``Class.test``) of the failing tests."""
    summaries = SUMMARY.findall(text)
    if not summaries:
        raise RunFailed("no test summary in the log")
    failed, errors, tests = (int(number) for number in summaries[-1])
    failing = sorted({name for _addon, name in FAILING.findall(text)})
    return tests, failed, errors, failing


def by_addon(text):
    """``{addon: (tests started, sorted failing names)}`` from the same log:
    a run of several addons' tests, told apart by the loggers' names."""
    started = collections.defaultdict(set)
    failing = collections.defaultdict(set)
    for addon, name in STARTING.findall(text):
        started[addon].add(name)
    for addon, name in FAILING.findall(text):
        failing[addon].add(name)
    return {addon: (len(started[addon]), sorted(failing[addon])) for addon in set(started) | set(failing)}


def odoo_env(redis_url=None, prefix=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    if redis_url:
        env.update(ODOO_SESSION_REDIS="1", ODOO_SESSION_REDIS_URL=redis_url, ODOO_SESSION_REDIS_PREFIX=prefix)
    return env


def run_tests(series, folder, modules, redis=None, template=None, demo=False, timeout=1800):
    """One run of ``modules``' tests on ``series`` on a new database, dropped
    at the end: the addon off, or on with ``redis`` (a
    :class:`~tests.support.servers.RedisServer` nothing else uses meanwhile: its
    command counters are read). The database is a copy of ``template`` (a
    :class:`~tests.support.servers.Database` of that series with ``base,web``:
    the suite's, which saves installing them twice per series) or, without one,
    built from nothing, with demo data if ``demo`` (some addons' tests need
    it)."""
    mode = "redis" if redis else "files"
    tag = uuid.uuid4().hex[:8]
    database = "session_redis_tests_%s_%s_%s" % (series.replace(".", ""), mode, tag)
    data_dir = os.path.join(folder, "%s-%s" % (series, mode))
    log = data_dir + ".log"
    command = [
        launcher(series),
        "--addons-path=" + REPO,
        "--load=base,web,session_redis",
        "--data-dir=" + data_dir,
        "-d",
        database,
        # other databases may exist: HttpCase's requests must find this one
        "--db-filter=^%s$" % database,
        "-i",
        ",".join(modules),
        "--test-enable",
        "--test-tags",
        ",".join("/" + module for module in modules),
        "--stop-after-init",
        "--max-cron-threads=0",
        "--http-interface=127.0.0.1",
        "--http-port=%d" % free_port(),
    ]
    if not demo:
        command.append("--without-demo=all")
    elif series >= "19.0":
        command.append("--with-demo")  # 19 creates databases without demo data by default
    env = odoo_env(redis and redis.url, redis and "tests_" + tag)
    if redis:
        redis.client().config_resetstat()
    started = time.monotonic()
    try:
        if template:
            copy_database(template.name, database, template.filestore)
            os.makedirs(os.path.join(data_dir, "filestore"), exist_ok=True)
            copied = os.path.join(template.filestore, database)
            if os.path.isdir(copied):
                shutil.move(copied, os.path.join(data_dir, "filestore", database))
        with open(log, "w") as output:
            subprocess.run(command, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout)
    finally:
        drop_database(database)
    seconds = time.monotonic() - started
    with open(log, errors="replace") as handle:
        text = handle.read()
    if (ON_LINE if redis else OFF_LINE) not in text:
        raise RunFailed("%s %s: the addon was not %s (%s)" % (series, mode, "on" if redis else "off", log))
    try:
        tests, failed, errors, failing = parse_log(text)
    except RunFailed as error:
        raise RunFailed("%s %s: %s (%s):\n%s" % (series, mode, error, log, text[-3000:]))
    commands = redis_commands(redis) if redis else None
    return Run(series, mode, tests, failed, errors, failing, seconds, commands, log)


def redis_commands(redis):
    """Commands the server ran for sessions since its counters were reset:
    not the counting itself (INFO, CONFIG), nor the addon's start-up check
    (PING) and the client's connection set-up (CLIENT)."""
    stats = redis.client().info("commandstats")
    other = tuple("cmdstat_" + name for name in ("info", "config", "ping", "client"))
    return sum(value["calls"] for name, value in stats.items() if not name.startswith(other))


def compare(series, folder, modules, template=None, demo=False):
    """Both runs of ``series`` side by side, one per core (each is one Odoo
    process on a database of its own, from ``template`` if given): files,
    and Redis (a redis-server of this series' own, stopped afterwards)."""
    redis = RedisServer(os.path.join(folder, "redis-" + series)).start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            off = pool.submit(run_tests, series, folder, modules, template=template, demo=demo)
            on = pool.submit(run_tests, series, folder, modules, redis, template=template, demo=demo)
            return Comparison(series, off.result(), on.result())
    finally:
        redis.stop()


def text_table(rows):
    """Rows of strings as aligned columns, the first row a heading."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )
