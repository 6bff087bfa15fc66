"""``odoo session_redis ...``: the operator command, run as operators run it
(``bin/odoo --addons-path=<repo> session_redis``) against the private Redis
and real Odoo nodes."""

import io
import json
import os
import pickle
import subprocess
from contextlib import closing

import psycopg2
import pytest
from odoo.http import OpenERPSession
from werkzeug.contrib.sessions import FilesystemSessionStore

from session_redis.cli.progress import Progress
from session_redis.core import jobs as operations
from session_redis.core.fs_sessions import copy_fs_sessions
from session_redis.core.layout import META, legacy_session_key, session_key
from session_redis.core.store import LOGIN_INFO, RedisSessionStore, short_hash
from tests.support.servers import LAUNCHER, REPO, RedisServer, free_port, launcher
from tests.support.topologies import Cluster, running

SUBCOMMANDS = ["stats", "sessions", "copy-fs", "purge-fs", "export-fs", "revoke"]


def odoo(*args, env, timeout=120):
    return subprocess.run(
        [LAUNCHER, "--addons-path=" + REPO] + list(args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
    )


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def cli(redis_server, tmp_path, data_dir):
    """Run the command with only the settings a test gives: the private
    Redis, and an Odoo configuration file (``ODOO_RC``) naming a data folder
    of the test's own, so the caller's ``~/.odoorc`` never counts."""
    rc_file = tmp_path / "odoorc"
    rc_file.write_text("[options]\ndata_dir = %s\n" % data_dir)

    def run(*args, env=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
        environment.update(ODOO_RC=str(rc_file), ODOO_SESSION_REDIS_URL=redis_server.url)
        environment.update(env or {})
        return odoo("session_redis", *args, env=environment)

    return run


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def failed(result, code=1):
    """The one-line message of a run that had to fail."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def make_store(client, prefix="", **options):
    return RedisSessionStore(client, OpenERPSession, prefix=prefix, **options)


def new_session(store, **data):
    session = store.new()
    session.update(data)
    store.save(session)
    return session.sid


# --- discovery and help ---


def test_odoo_lists_the_command_and_each_subcommand_has_help(cli):
    listed = odoo("help", env=dict(os.environ))
    assert "session_redis" in ok(listed)
    for subcommand in [[]] + [[name] for name in SUBCOMMANDS]:
        shown = ok(cli(*(subcommand + ["--help"])))
        assert shown.startswith("usage: odoo session_redis " + " ".join(subcommand))
    assert "--dry-run" in ok(cli("copy-fs", "--help"))
    assert "--overwrite" in ok(cli("export-fs", "--help"))


# --- stats ---


def test_stats_counts_sessions_memory_and_expiry_of_the_prefix_only(cli, redis_client):
    store = make_store(redis_client, expiration=50000, expiration_anonymous=600)
    for _ in range(2):
        new_session(store, uid=2, login="admin", db="prod")
    new_session(store, uid=2, login="admin", expiration=30 * 86400)
    for _ in range(3):
        new_session(store, db="prod", sale_order_id=1)  # anonymous, holding more than Odoo's defaults
    redis_client.set(session_key("a" * 40), b"not json", ex=100)
    redis_client.set(session_key("b" * 40), b'{"uid": null}')  # no TTL: written by hand
    new_session(make_store(redis_client, prefix="other"), uid=2, login="admin")

    stats = json.loads(ok(cli("stats", "--json")))
    counts = stats["sessions"], stats["logged_in"], stats["anonymous"], stats["unreadable"]
    assert counts == (8, 3, 4, 1)
    assert stats["ttl"] == {"<1h": 4, "<1d": 2, "<7d": 0, ">=7d": 1, "no expiry": 1}
    assert stats["memory_bytes"] >= 8 * 50 and stats["prefix"] == ""

    text = ok(cli("stats"))
    assert "sessions: 8 (logged in 3, anonymous 4, unreadable 1)" in text
    assert "memory: " in text and "\r" not in text  # no progress line into a pipe


def test_stats_reads_the_prefix_from_the_configuration_file_and_the_environment_wins(
    cli, redis_client, tmp_path
):
    for _ in range(2):
        new_session(make_store(redis_client, prefix="shop"), uid=2, login="admin")
    new_session(make_store(redis_client, prefix="blog"), uid=2, login="admin")
    conf = tmp_path / "odoo.conf"
    conf.write_text("[options]\nsession_redis_prefix = shop\n")
    assert json.loads(ok(cli("stats", "--json", "-c", str(conf))))["sessions"] == 2
    overridden = cli("stats", "--json", "--config", str(conf), env={"ODOO_SESSION_REDIS_PREFIX": "blog"})
    assert json.loads(ok(overridden))["sessions"] == 1


# --- copy-fs and purge-fs ---


def test_copy_fs_and_purge_fs_dry_runs_change_nothing_and_real_runs_do_the_job(cli, redis_client, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    files = FilesystemSessionStore(str(folder), session_class=OpenERPSession)
    store = make_store(redis_client)
    user, anonymous, newer = [
        new_session(files, **data)
        for data in ({"uid": 2, "login": "admin", "db": "prod"}, {"db": "prod"}, {"uid": 5, "login": "old"})
    ]
    store.save(OpenERPSession({"uid": 5, "login": "newer"}, newer, False))
    (folder / ("werkzeug_%s.sess" % ("c" * 40))).write_bytes(b"torn")
    on_disk = sorted(os.listdir(str(folder)))

    dry = ok(cli("copy-fs", "--dry-run", "--sessions-dir", str(folder)))
    assert (
        "would copy 2 sessions from %s; would skip 1 already in Redis, 1 unreadable and 0 too large" % folder
        in dry
    )
    assert redis_client.dbsize() == 1

    copied = cli("copy-fs", "--sessions-dir", str(folder))
    assert (
        "copied 2 sessions from %s; skipped 1 already in Redis, 1 unreadable and 0 too large" % folder
        in ok(copied)
    )
    assert "skipped the unreadable file of session #" in copied.stderr
    assert store.get(user).login == "admin" and not store.get(anonymous).new
    assert store.get(newer).login == "newer"
    assert sorted(os.listdir(str(folder))) == on_disk  # copying keeps the files

    dry = ok(cli("purge-fs", "--dry-run", "--sessions-dir", str(folder)))
    assert "would delete 4 session files from %s" % folder in dry
    assert sorted(os.listdir(str(folder))) == on_disk
    assert "deleted 4 session files" in ok(cli("purge-fs", "--sessions-dir", str(folder)))
    assert os.listdir(str(folder)) == []


def test_the_default_session_folder_is_the_one_of_the_data_dir(cli, data_dir, tmp_path):
    message = failed(cli("purge-fs"))
    assert message == (
        "session_redis: no session folder %s/sessions (see --sessions-dir and --data-dir)" % data_dir
    )
    other = tmp_path / "other-data"
    (other / "sessions").mkdir(parents=True)
    FilesystemSessionStore(str(other / "sessions")).save(OpenERPSession({}, "d" * 40, False))
    assert "would delete 1 session file from %s/sessions" % other in ok(
        cli("purge-fs", "--dry-run", "--data-dir", str(other))
    )


# --- export-fs ---


def test_export_fs_hands_a_redis_login_over_to_an_odoo_with_filesystem_sessions(
    cli, odoo_nodes, redis_client
):
    on_redis = odoo_nodes("redis")
    sid, _other = on_redis.login(), on_redis.login()
    in_redis = len(make_store(redis_client).list())
    files_node = odoo_nodes("files", redis=False, start=False)
    os.makedirs(files_node.session_folder)
    switched_off = {"ODOO_SESSION_REDIS": "0"}  # rolling back: the addon is off, Redis still there

    exported = ok(cli("export-fs", "--data-dir", files_node.data_dir, env=switched_off))
    folder = files_node.session_folder
    assert "exported %d sessions to %s; skipped 0 already there" % (in_redis, folder) in exported
    with open(os.path.join(folder, "werkzeug_%s.sess" % sid), "rb") as handle:
        written = pickle.load(handle)
    assert written["login"] == "admin" and META not in written

    again = ok(cli("export-fs", "--data-dir", files_node.data_dir, env=switched_off))
    assert "exported 0 sessions" in again and "skipped %d already there" % in_redis in again
    overwritten = ok(cli("export-fs", "--overwrite", "--data-dir", files_node.data_dir, env=switched_off))
    assert "exported %d sessions" % in_redis in overwritten

    files_node.start()
    assert files_node.session_info(sid)["username"] == "admin"
    assert len(make_store(redis_client).list()) == in_redis  # the filesystem node never wrote to Redis


# --- revoke ---


def test_revoke_login_logs_the_user_out_on_every_node_and_spares_other_logins(cli, odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    sid = a.login()
    store = make_store(redis_client)
    demo = [new_session(store, uid=7, login="demo", db=a.database) for _ in range(2)]

    switched_on = {"ODOO_SESSION_REDIS": "1"}  # the servers' own environment

    dry = ok(cli("revoke", "--login", "admin", "--dry-run", env=switched_on))
    assert "would revoke 1 session of login 'admin'" in dry
    assert b.session_info(sid)["username"] == "admin"

    assert "revoked 1 session of login 'admin'" in ok(cli("revoke", "--login", "admin", env=switched_on))
    assert a.session_info(sid) is None and b.session_info(sid) is None
    assert [store.get(other).login for other in demo] == ["demo", "demo"]


def test_sessions_lists_a_login_through_the_index_and_revoke_ends_them(cli, odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    browsers = {"Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}
    firefox = a.login()
    chrome = requests_login(
        b, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/119.0 Safari/537.36"
    )
    with_firefox = requests_login(a, browsers["Firefox"])
    db, uid = a.database, a.session_info(firefox)["uid"]
    listed = ok(cli("sessions", "--login", "admin", "--db", db))
    assert "3 sessions of login 'admin' in database %r (user id %d)" % (db, uid) in listed
    assert "from 127.0.0.1  firefox 120.0 on linux" in listed and "chrome 119.0 on linux" in listed
    assert listed.count("expires in 6047") == 3 or listed.count("expires in 604") == 3
    assert all(short_hash(sid) in listed for sid in (firefox, chrome, with_firefox))
    assert firefox[:8] not in listed  # a session id is a secret, even in part: a hash is shown

    redis_client.config_resetstat()
    assert "revoked 3 sessions of login 'admin' in database %r (user id %d, per-user index)" % (
        db,
        uid,
    ) in ok(cli("revoke", "--login", "admin", "--db", db))
    assert "cmdstat_scan" not in redis_client.info("commandstats")
    assert all(node.session_info(sid) is None for node in (a, b) for sid in (firefox, chrome, with_firefox))
    assert "0 sessions of login 'admin'" in ok(cli("sessions", "--login", "admin", "--db", db))
    assert failed(cli("sessions", "--login", "nobody", "--db", db)) == (
        "session_redis: no user with login 'nobody' in database %r" % db
    )


def test_sessions_escapes_what_a_client_recorded_at_login(cli, odoo_database, redis_client):
    # the browser name comes from the User-Agent, the address from
    # X-Forwarded-For behind --proxy-mode: a portal user writes both
    db = odoo_database.name
    uid = user_id(db, "admin")
    hostile = {"ip": "10.0.0.1\x1b[2K\r", "browser": "Evil\nfake line \x1b]0;title\x07 \u202eexe.\\x"}
    sid = new_session(make_store(redis_client), uid=uid, login="admin", db=db, **{LOGIN_INFO: hostile})
    listed = ok(cli("sessions", "--login", "admin", "--db", db))
    assert [char for char in listed if not char.isprintable() and char != "\n"] == []
    assert len(listed.splitlines()) == 3  # Redis, the heading, one session
    assert "%s  created" % short_hash(sid) in listed
    assert "from 10.0.0.1\\x1b[2K\\r  Evil\\nfake line \\x1b]0;title\\x07 \\u202eexe.\\\\x" in listed


def test_with_hashed_ids_every_command_works_and_shows_no_id(cli, odoo_database, redis_client, tmp_path):
    db = odoo_database.name
    uid = user_id(db, "admin")
    store = make_store(redis_client, hash_ids=True)
    sids = [
        new_session(store, uid=uid, login="admin", db=db, **{LOGIN_INFO: {"ip": "10.0.0.1"}}) for _ in "ab"
    ]
    hashing = {"ODOO_SESSION_REDIS_HASH_IDS": "1"}
    outputs = []

    listed = ok(cli("sessions", "--login", "admin", "--db", db, env=hashing))
    assert all("  %s  created " % short_hash(sid) in listed for sid in sids), listed
    assert "sessions: 2 (logged in 2, anonymous 0, unreadable 0)" in ok(cli("stats", env=hashing))
    exported = ok(cli("export-fs", "--sessions-dir", str(tmp_path / "files"), env=hashing))
    assert "exported 0 sessions" in exported and "2 stored by hash" in exported, exported
    assert ok(cli("revoke", "--login", "admin", "--db", db, "--dry-run", env=hashing))
    outputs += [listed, exported]
    outputs.append(ok(cli("revoke", "--login", "admin", "--db", db, env=hashing)))
    assert "revoked 2 sessions" in outputs[-1] and store.list() == []

    sids.append(new_session(store, uid=uid, login="admin", db=db))
    outputs.append(ok(cli("revoke", "--login", "admin", "--scan", env=hashing)))
    assert "revoked 1 session " in outputs[-1] and store.list() == []
    assert not [sid for sid in sids for output in outputs if sid[:8] in output]


def user_id(db, login):
    with closing(psycopg2.connect(dbname=db)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM res_users WHERE login = %s", (login,))
        return cursor.fetchone()[0]


def requests_login(node, user_agent):
    """Log in with the given browser name; return the session id."""
    import requests

    response = requests.post(
        node.url + "/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": node.database, "login": "admin", "password": "admin"}},
        headers={"User-Agent": user_agent},
        timeout=30,
    )
    assert response.json()["result"]["uid"]
    return response.cookies["session_id"]


def test_revoke_all_empties_the_prefix_including_older_module_keys(cli, redis_client):
    shop = make_store(redis_client, prefix="shop")
    for login in ("admin", "demo", None):
        new_session(shop, uid=2 if login else None, login=login, db="prod", sale_order_id=1)
    redis_client.set(legacy_session_key("e" * 40, "shop"), b'{"login": "admin"}', ex=100)
    kept = new_session(make_store(redis_client), uid=2, login="admin", db="prod")
    in_shop = {"ODOO_SESSION_REDIS_PREFIX": "shop"}

    dry = ok(cli("revoke", "--all", "--dry-run", env=in_shop))
    assert "would revoke 4 sessions of every user (4 sessions scanned) (dry run" in dry
    revoked = ok(cli("revoke", "--all", env=in_shop))
    assert "revoked 4 sessions of every user (4 sessions scanned)" in revoked
    assert shop.list() == [] and shop.user_sessions("prod", 2) == []
    assert redis_client.dbsize() == 2  # the other site's session and its user's index
    assert make_store(redis_client).get(kept).login == "admin"


def snapshot(client):
    """Every key with its serialized value and whether it expires: equal
    snapshots mean nothing was written."""
    return {key: (client.dump(key), client.ttl(key) > 0) for key in client.scan_iter()}


def test_hostile_values_are_reported_the_work_goes_on_and_listing_writes_nothing(
    cli, odoo_database, redis_client
):
    """A list under a session key, times that are no times (1e20, NaN),
    bytes that are no UTF-8: each command warns, finishes and exits 0; the
    listing commands and the dry run change nothing in Redis."""
    db = odoo_database.name
    store = make_store(redis_client)
    admin_uid = 1  # Odoo 11 gives admin id 1
    new_session(store, uid=admin_uid, login="admin", db=db)
    redis_client.rpush(session_key("ab" * 32), "not", "a", "session")
    for sid, times in (
        ("c1" * 20, '{"created":1e20,"touched":1}'),
        ("c2" * 20, '{"created":1,"touched":NaN}'),
    ):
        value = '{"uid":%d,"db":"%s","login":"admin","%s":%s}' % (admin_uid, db, META, times)
        redis_client.set(session_key(sid), value, ex=100)
        redis_client.sadd(store.index_key(db, admin_uid), sid)
    redis_client.set(session_key("c3" * 20), b'{"uid": 2, "login": "\xff\xfe"}', ex=100)
    before = snapshot(redis_client)

    stats = cli("stats")
    assert "sessions: 5 (logged in 1, anonymous 0, unreadable 4)" in ok(stats)
    assert "warning: 4 values under session keys unreadable" in stats.stderr
    assert "would revoke 5 sessions of every user" in ok(cli("revoke", "--all", "--dry-run"))
    listed = ok(cli("sessions", "--login", "admin", "--db", db))
    assert "1 session of login 'admin'" in listed and "1970" not in listed
    assert ok(cli("revoke", "--login", "admin", "--db", db, "--dry-run"))
    assert snapshot(redis_client) == before, "a listing or a dry run wrote"
    # the session with absurd times is a fresh one at its next request
    assert store.get("c1" * 20).get("uid") is None


def test_another_series_sessions_in_the_same_keyspace_are_shown_never_removed(
    series_database, redis_client, tmp_path
):
    """Odoo 11 and Odoo 18 sharing one Redis without prefix (and a
    database name): Odoo 18's command counts 11's sessions as another
    series' and removes nothing of them."""
    database = series_database("18.0")
    eleven = make_store(redis_client)
    old = new_session(eleven, uid=2, login="admin", db=database.name)  # a 40-hex id, indexed
    before = snapshot(redis_client)
    rc_file = tmp_path / "odoorc"
    rc_file.write_text("[options]\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    environment.update(ODOO_RC=str(rc_file), ODOO_SESSION_REDIS_URL=redis_client_url(redis_client))

    def run(*args):
        return subprocess.run(
            [launcher("18.0"), "--addons-path=" + REPO, "session_redis"] + list(args),
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=120,
        )

    stats = run("stats")
    assert "sessions: 0 " in ok(stats)
    assert "1 key of another Odoo series' sessions" in stats.stderr
    listed = run("sessions", "--login", "admin", "--db", database.name)
    assert "0 sessions of login 'admin'" in ok(listed)
    assert "also lists 1 session of another Odoo series" in listed.stderr
    assert snapshot(redis_client) == before
    assert eleven.get(old).login == "admin"


def redis_client_url(client):
    options = client.connection_pool.connection_kwargs
    return "redis://%s:%d/%d" % (options["host"], options["port"], options.get("db", 0))


def test_revoke_of_a_login_in_one_database_only(cli, redis_client):
    store = make_store(redis_client)
    prod, test = [new_session(store, uid=2, login="demo", db=db) for db in ("prod", "test")]
    assert "revoked 1 session of login 'demo' in database 'prod'" in ok(
        cli("revoke", "--login", "demo", "--db", "prod", "--scan")
    )
    assert store.get(prod).new and store.get(test).login == "demo"


def test_every_job_on_a_cluster_reaches_the_sessions_on_every_master(cli, tmp_path):
    with running(Cluster(str(tmp_path / "cluster"))) as cluster:
        store = make_store(cluster.client(), prefix="shop")
        sids = [new_session(store, uid=2, login="admin" if number % 3 else "demo") for number in range(30)]
        for sid in sids[:3]:  # three as the older module kept them
            data = json.dumps({"uid": 2, "login": store.get(sid).login})
            store.delete_many([sid])
            cluster.client().set(legacy_session_key(sid, "shop"), data, ex=100)
        per_master = [node.client().dbsize() for node in cluster.nodes]
        assert len(per_master) == 3 and min(per_master) > 0 and sum(per_master) == 30, per_master
        assert store.list() == sorted(sids)

        on_cluster = {
            "ODOO_SESSION_REDIS_CLUSTER": "true",
            "ODOO_SESSION_REDIS_URL": "redis://%s/0" % cluster.addresses[0],
            "ODOO_SESSION_REDIS_PREFIX": "shop",
        }
        stats = json.loads(ok(cli("stats", "--json", env=on_cluster)))
        assert (stats["sessions"], stats["logged_in"]) == (30, 30) and stats["memory_bytes"] > 0
        folder = str(tmp_path / "exported")
        exported = ok(cli("export-fs", "--sessions-dir", folder, env=on_cluster))
        assert "exported 30 sessions" in exported and len(os.listdir(folder)) == 30
        revoked = ok(cli("revoke", "--login", "admin", "--scan", env=on_cluster))
        assert "revoked 20 sessions of login 'admin' (30 sessions scanned)" in revoked
        assert sorted(store.get(sid).login for sid in store.list()) == ["demo"] * 10
        assert "revoked 10 sessions of every user" in ok(cli("revoke", "--all", env=on_cluster))
        assert sum(node.client().dbsize() for node in cluster.nodes) == 0


# --- failures: one clear line, no traceback ---


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "the following arguments are required: COMMAND"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["stats", "--bogus"], "unrecognized arguments: --bogus"),
        (["revoke"], "one of the arguments --login --all is required"),
        (["revoke", "--login", "admin", "--all"], "not allowed with argument"),
        (["revoke", "--all", "--db", "prod"], "--db goes with --login"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli, args, expected):
    message = failed(cli(*args), code=2)
    assert expected in message and message.startswith("odoo session_redis")


def test_bad_settings_and_files_exit_1_naming_them(cli, tmp_path):
    message = failed(cli("stats", env={"ODOO_SESSION_REDIS_PORT": "63790x"}))
    assert message.startswith("session_redis: ODOO_SESSION_REDIS_PORT='63790x' is not valid")
    conf = tmp_path / "bad.conf"
    conf.write_text("[options]\nsession_redis_expiration = 1w\n")
    message = failed(cli("stats", "-c", str(conf)))
    assert "session_redis_expiration in %s='1w' is not valid" % conf in message
    assert failed(
        cli("stats", "-c", str(tmp_path / "missing.conf"))
    ) == "session_redis: cannot read the configuration file %s" % (tmp_path / "missing.conf")


@pytest.mark.parametrize("args", [["stats"], ["copy-fs", "--dry-run"], ["export-fs"], ["revoke", "--all"]])
def test_unreachable_redis_exits_1_with_one_line_and_no_password(cli, data_dir, args):
    os.makedirs(os.path.join(data_dir, "sessions"), exist_ok=True)
    url = "redis://:hunter2@127.0.0.1:%d/0" % free_port()
    message = failed(cli(*args, env={"ODOO_SESSION_REDIS_URL": url}))
    assert message.startswith("session_redis: cannot reach Redis (redis://:***@127.0.0.1:")
    assert "Connection refused" in message and "hunter2" not in message


def test_a_password_in_the_urls_query_string_is_never_shown(cli, redis_client, tmp_path, data_dir):
    # redis-py reads ?password= (its documented way for a unix socket)
    secret = "hunter2-Query"
    socket = str(tmp_path / "r.sock")
    server = RedisServer(
        str(tmp_path / "locked"),
        password=secret,
        extra_args=["--unixsocket", socket, "--unixsocketperm", "700"],
    ).start()
    os.makedirs(os.path.join(data_dir, "sessions"), exist_ok=True)
    runs = []
    try:
        for url in (
            "unix://%s?db=0&password=%s" % (socket, secret),
            "redis://127.0.0.1:%d/0?password=%s" % (server.port, secret),
        ):
            for args in (["stats"], ["stats", "--json"], ["copy-fs", "--dry-run"], ["revoke", "--all"]):
                runs.append(cli(*args, env={"ODOO_SESSION_REDIS_URL": url}))
                assert "password=***" in ok(runs[-1])
            runs.append(cli("stats", env={"ODOO_SESSION_REDIS_URL": url.replace(secret, "not-" + secret)}))
            assert "invalid username-password pair" in failed(runs[-1])
        for url in (
            "unix://%s?db=0&password=%s" % (tmp_path / "none.sock", secret),
            "redis://127.0.0.1:%d/0?password=%s" % (free_port(), secret),
        ):
            runs.append(cli("sessions", "--rebuild-index", env={"ODOO_SESSION_REDIS_URL": url}))
            assert "password=***" in failed(runs[-1])
    finally:
        server.stop()
    assert not [run.args for run in runs if secret in run.stdout + run.stderr]


# --- the operations themselves, in process ---


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_carriage_return_counter_on_terminals_only():
    ticks = iter(range(100))
    shown = Terminal()
    with Progress("scanned", stream=shown, interval=1, clock=lambda: next(ticks)) as progress:
        for count in (500, 1000, 1500):
            progress(count)
    assert shown.getvalue().startswith("\rscanned: 500\rscanned: 1000\rscanned: 1500")
    assert shown.getvalue().endswith("\r")  # the line is erased at the end
    piped = io.StringIO()
    with Progress("scanned", stream=piped, interval=0) as progress:
        progress(500)
    assert piped.getvalue() == ""


def test_operations_report_progress_per_batch(redis_client, tmp_path):
    files = FilesystemSessionStore(str(tmp_path), session_class=OpenERPSession)
    for _ in range(5):
        new_session(files, uid=2, login="demo")
    store = make_store(redis_client)
    copied = []
    result = copy_fs_sessions(str(tmp_path), store, batch=2, progress=copied.append)
    assert result == (5, 0, 0, 0)
    assert copied == [2, 4, 5]
    scanned = []
    assert operations.collect_stats(store, batch=2, progress=scanned.append)["logged_in"] == 5
    assert scanned == [2, 4, 5]
    assert operations.revoke_sessions(store, login="demo", batch=3) == (5, 5)
    assert redis_client.dbsize() == 0
