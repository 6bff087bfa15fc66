"""Idle expiry, lifetime cap, Redis commands per request, odoo.conf and the
older module's keys, through real Odoo 11 nodes (the expiry rules on Odoo 18
too: it saves a session only when asked to, which the touch must do)."""

import json
import os
import subprocess
import time

import pytest

from session_redis.core.layout import META, legacy_session_key, session_key
from tests.support.servers import LAUNCHER, REPO


def use_every_second(node, sid, seconds):
    """Use the session once a second; return how many uses found it alive."""
    alive = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive += node.session_info(sid) is not None
        time.sleep(1)
    return alive


def test_a_session_in_use_never_expires_an_idle_one_does(nodes):
    node = nodes(env={"ODOO_SESSION_REDIS_EXPIRATION": "4"})
    sid = node.login()
    uses = use_every_second(node, sid, 10)
    assert node.session_info(sid)["username"] == "admin", "expired while in use"
    assert uses >= 9
    time.sleep(6)
    assert node.session_info(sid) is None, "still alive after 6 s idle"


def test_without_sliding_a_session_dies_at_its_expiration_even_in_use(nodes):
    node = nodes(env={"ODOO_SESSION_REDIS_EXPIRATION": "4", "ODOO_SESSION_REDIS_SLIDING": "false"})
    sid = node.login()
    use_every_second(node, sid, 5)
    assert node.session_info(sid) is None


def test_max_lifetime_ends_a_busy_session(nodes):
    node = nodes(env={"ODOO_SESSION_REDIS_EXPIRATION": "100", "ODOO_SESSION_REDIS_MAX_LIFETIME": "5"})
    sid = node.login()
    use_every_second(node, sid, 6)
    assert node.session_info(sid) is None


def test_logged_in_requests_cost_at_most_1_05_redis_commands(odoo_nodes, redis_client, figure):
    node = odoo_nodes()
    sid = node.login()
    node.session_info(sid)
    redis_client.config_resetstat()
    requests_sent = 200
    for _ in range(requests_sent):
        assert node.session_info(sid)["username"] == "admin"
    stats = redis_client.info("commandstats")
    calls = {
        name[len("cmdstat_") :]: stat["calls"]
        for name, stat in stats.items()
        if not name.startswith(("cmdstat_config", "cmdstat_info"))
    }
    per_request = sum(calls.values()) / float(requests_sent)
    figure(
        "Redis commands per logged-in get_session_info request: %.3f %s "
        "(the older module: 3.0)" % (per_request, calls)
    )
    assert per_request <= 1.05


@pytest.fixture
def conf_file(tmp_path, redis_server):
    def write(**options):
        path = tmp_path / "odoo.conf"
        lines = ["[options]"] + ["%s = %s" % item for item in options.items()]
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    return write


def test_settings_from_odoo_conf(odoo_nodes, conf_file, redis_server, redis_client):
    conf = conf_file(
        session_redis="True",
        session_redis_url=redis_server.url,
        session_redis_prefix="fromfile",
        session_redis_expiration="777",
    )
    node = odoo_nodes(redis=False, start=False)
    node.extra_args = ["-c", conf]
    sid = node.start().login()
    assert 770 <= redis_client.ttl(session_key(sid, "fromfile")) <= 777
    assert node.session_files() == []


def test_environment_wins_over_odoo_conf(odoo_nodes, conf_file, redis_server, redis_client):
    conf = conf_file(
        session_redis="true", session_redis_url=redis_server.url, session_redis_prefix="fromfile"
    )
    node = odoo_nodes(env={"ODOO_SESSION_REDIS_PREFIX": "fromenv"}, start=False)
    node.extra_args = ["-c", conf]
    sid = node.start().login()
    assert redis_client.exists(session_key(sid, "fromenv")) == 1


def test_bad_value_in_odoo_conf_stops_the_server_naming_file_and_option(odoo_nodes, conf_file):
    conf = conf_file(session_redis="1", session_redis_expiration="soon")
    node = odoo_nodes(redis=False, start=False)
    run = node.run("-c", conf, "--stop-after-init")
    assert run.returncode != 0
    assert "session_redis_expiration in %s='soon' is not valid" % conf in run.stdout


def test_session_of_the_older_module_stays_logged_in_and_moves(odoo_nodes, redis_client):
    env = {"ODOO_SESSION_REDIS_PREFIX": "shop"}
    a, b = odoo_nodes("a", env=env), odoo_nodes("b", env=env)
    sid = a.login()
    # rewrite it as camptocamp's session_redis stored it: plain JSON, "session::shop:<sid>"
    data = json.loads(redis_client.get(session_key(sid, "shop")))
    del data[META]
    redis_client.set(legacy_session_key(sid, "shop"), json.dumps(data), ex=3600)
    redis_client.delete(session_key(sid, "shop"))
    assert b.session_info(sid)["username"] == "admin"
    assert redis_client.exists(legacy_session_key(sid, "shop")) == 0
    assert redis_client.exists(session_key(sid, "shop")) == 1


def test_odoo_conf_is_read_with_the_explicit_server_command(conf_file, redis_server, tmp_path):
    """Odoo imports addons with a ``cli`` folder before it reads ``-c``: the
    settings must be read later, when the server loads the addon."""
    conf = conf_file(session_redis="True", session_redis_url=redis_server.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    run = subprocess.run(
        [
            LAUNCHER,
            "--addons-path=" + REPO,
            "server",
            "-c",
            conf,
            "--load=web,session_redis",
            "--data-dir=" + str(tmp_path / "data"),
            "--stop-after-init",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout
    assert "web sessions in Redis: redis://127.0.0.1:%d/0" % redis_server.port in run.stdout
