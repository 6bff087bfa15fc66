"""No session id, session token or Redis password in any log line or
command output, at debug level, on every path that logs: a login and its
rotation, a logout, a revocation by the operator command, an outage, a
Redis out of memory and a read-only replica (whose refusals redis-py words
with the whole pipelined command, session JSON included). Odoo 11 and 18."""

import os
import subprocess
import uuid

from session_redis.core.codec import decode_session
from session_redis.core.layout import session_key
from tests.support.servers import REPO, RedisServer, launcher

TIMEOUT = 30


def operator(node, url, tmp_path, *args):
    """``odoo session_redis ARGS`` from the node's own launcher: stdout + stderr."""
    rc_file = tmp_path / "odoorc"
    rc_file.write_text("[options]\ndata_dir = %s\n" % (tmp_path / "data"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    environment.update(ODOO_RC=str(rc_file), ODOO_SESSION_REDIS_URL=url)
    done = subprocess.run(
        [launcher(node.series), "--addons-path=" + REPO, "session_redis", "--log-level=debug"] + list(args),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    return done.stdout


def test_no_id_token_or_password_in_logs_and_outputs(nodes, tmp_path):
    secret = "pw-" + uuid.uuid4().hex
    server = RedisServer(str(tmp_path / "redis"), password=secret).start()
    primary = RedisServer(str(tmp_path / "primary"), password=secret).start()
    url = "redis://:%s@127.0.0.1:%d/0" % (secret, server.port)
    redis = server.client()
    seen = set()  # every id and token handed out

    def login(node):
        sid = node.login()
        data = decode_session(redis.get(session_key(sid)))
        seen.update([sid, data["session_token"]])
        return sid

    try:
        node = nodes("a", env={"ODOO_SESSION_REDIS_URL": url}, start=False)
        node.extra_args = ["--log-level=debug"]
        node.start()
        first = login(node)
        node.json("/web/session/destroy", session_id=first)  # logout
        login(node)
        outputs = [operator(node, url, tmp_path, "revoke", "--login", "admin", "--db", node.database)]
        outputs.append(operator(node, url, tmp_path, "stats", "--json"))
        third = login(node)

        redis.config_set("maxmemory-policy", "noeviction")
        redis.config_set("maxmemory", 1)  # out of memory: every write refused
        assert node.json("/web/session/authenticate", node_login(node)).status_code == 503
        redis.config_set("maxmemory", 0)

        redis.config_set("masterauth", secret)
        redis.replicaof("127.0.0.1", primary.port)  # a read-only replica now
        assert node.json("/web/session/authenticate", node_login(node)).status_code == 503
        redis.replicaof("NO", "ONE")

        server.stop()  # an outage
        assert node.json("/web/session/get_session_info", session_id=third).status_code == 503
        outputs.append(operator(node, url, tmp_path, "stats"))
        log = node.log()
    finally:
        server.stop()
        primary.stop()

    # the paths did log, each with the server's reason
    assert "OutOfMemoryError: command not allowed" in log and "ReadOnlyError: You can't write" in log
    assert "ConnectionError: Error 111" in log
    # Odoo 18 itself logs a session's device identifier (the first half of
    # its id, not enough to present it) when it records a device: not ours
    log = "\n".join(line for line in log.splitlines() if "odoo.addons.base.models.res_device" not in line)
    for text in [log] + outputs:
        assert secret not in text
        leaked = [value for value in seen if value and value in text]
        assert leaked == [], "ids or tokens in a log: %s" % leaked
        assert not any(value[:16] in text for value in seen if value)


def node_login(node):
    return {"db": node.database, "login": "admin", "password": "admin"}
