"""The README's least-privilege Redis user runs every feature of the addon
on Odoo 11 and 18 (two nodes, logout, the operator command, the health
probe), and can neither read another prefix's keys nor run
FLUSHALL, KEYS, CONFIG or MONITOR. The rule is read from the README, so
that the documentation cannot drift from what is tested."""

import os
import subprocess

import pytest
import requests
from redis import Redis
from redis.exceptions import NoPermissionError

from session_redis.core.layout import session_key, user_index_key
from session_redis.core.store import short_hash
from tests.support.servers import REPO, RedisServer, launcher

PREFIX = "shop"
USER, PASSWORD, ADMIN_PASSWORD = "odoo", "user-pw-1", "admin-pw-1"
TIMEOUT = 30


def readme_rule():
    """The ``ACL SETUSER`` line of docs/security.rst, with this test's password."""
    with open(os.path.join(REPO, "docs", "security.rst")) as handle:
        line = next(line.strip() for line in handle if line.strip().startswith("ACL SETUSER odoo on"))
    return line.replace(">s3cr@t", ">" + PASSWORD).split()[2:]  # after "ACL SETUSER"


@pytest.fixture
def acl_redis(tmp_path):
    server = RedisServer(str(tmp_path / "acl"), password=ADMIN_PASSWORD).start()
    try:
        server.client().execute_command("ACL", "SETUSER", *readme_rule())  # as written
        yield server
    finally:
        server.stop()


def as_user(server):
    return {
        "ODOO_SESSION_REDIS_URL": "redis://%s:%s@127.0.0.1:%d/0" % (USER, PASSWORD, server.port),
        "ODOO_SESSION_REDIS_PREFIX": PREFIX,
    }


def operator(node, env, tmp_path, *args):
    rc_file = tmp_path / "odoorc"
    rc_file.write_text("[options]\ndata_dir = %s\n" % (tmp_path / "data"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    environment.update(env, ODOO_RC=str(rc_file))
    done = subprocess.run(
        [launcher(node.series), "--addons-path=" + REPO, "session_redis"] + list(args),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    assert done.returncode == 0 and "NOPERM" not in done.stdout, done.stdout
    return done.stdout


def test_the_readme_user_runs_every_feature(nodes, acl_redis, tmp_path):
    env = as_user(acl_redis)
    a, b = nodes("a", env=env), nodes("b", env=env)
    admin = acl_redis.client()
    sid = a.login()
    assert b.session_info(sid)["username"] == "admin"  # shared
    assert admin.exists(session_key(sid, PREFIX)) == 1
    uid = a.session_info(sid)["uid"]
    assert admin.sismember(user_index_key(a.database, uid, PREFIX), sid)
    b.json("/web/session/destroy", session_id=sid)  # logout
    assert a.session_info(sid) is None and admin.exists(session_key(sid, PREFIX)) == 0

    kept, ended = a.login(), b.login()
    listed = operator(a, env, tmp_path, "sessions", "--login", "admin", "--db", a.database)
    assert short_hash(kept) in listed and short_hash(ended) in listed
    stats = operator(a, env, tmp_path, "stats")  # SCAN, MEMORY USAGE, TTL
    assert "sessions: " in stats and "memory: " in stats
    operator(a, env, tmp_path, "revoke", "--login", "admin", "--db", a.database)
    assert a.session_info(kept) is None and b.session_info(ended) is None
    again = a.login()
    operator(a, env, tmp_path, "revoke", "--all")  # by SCAN
    assert b.session_info(again) is None

    health = requests.get(a.url + "/session_redis/health", timeout=TIMEOUT)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    for node in (a, b):
        assert "NOPERM" not in node.log() and "Redis unavailable" not in node.log()


@pytest.mark.parametrize("site", ["intranet", PREFIX + "-eu", PREFIX + "_eu", PREFIX + ".eu"])
def test_the_readme_user_reaches_nothing_else(acl_redis, site):
    """Another site's keys, its prefix starting like this one's included
    (a prefix with ':' is refused: ``shop:eu``'s keys would match)."""
    admin = acl_redis.client()
    theirs = session_key("ab" * 20, site)  # another site's session
    their_index = user_index_key("prod", 2, site)
    admin.set(theirs, b'{"uid": 2}')
    admin.sadd(their_index, "ab" * 20)
    client = Redis(host="127.0.0.1", port=acl_redis.port, username=USER, password=PASSWORD)
    assert client.set(session_key("cd" * 20, PREFIX), b"{}")
    for refused in (
        lambda: client.get(theirs),
        lambda: client.delete(theirs),
        lambda: client.smembers(their_index),
        lambda: client.get("anything:else"),
        lambda: client.flushall(),
        lambda: client.keys("*"),
        lambda: client.config_get("*"),
        lambda: client.execute_command("MONITOR"),
    ):
        with pytest.raises(NoPermissionError):
            refused()
    assert admin.get(theirs) == b'{"uid": 2}'
