"""Each way of reaching Redis, against real redis-server processes."""

import pytest

from session_redis.core.client import make_client
from session_redis.core.settings import load_settings
from tests.support.servers import RedisServer, free_port


def client_for(**variables):
    return make_client(load_settings({"ODOO_SESSION_REDIS_" + k: v for k, v in variables.items()}))


@pytest.fixture
def protected(tmp_path):
    """A Redis with a default password and an ACL user whose password needs escaping."""
    server = RedisServer(
        str(tmp_path / "protected"),
        password="default-pw",
        extra_args=["--unixsocket", str(tmp_path / "redis.sock")],
    ).start()
    server.client().acl_setuser(
        "odoo", enabled=True, passwords=["+p@ss/w:rd"], keys=["session:*"], commands=["+@all"]
    )
    yield server
    server.stop()


def test_host_port_password(protected):
    client = client_for(HOST="127.0.0.1", PORT=str(protected.port), PASSWORD="default-pw")
    client.set("session:x", b"1")
    assert protected.client().get("session:x") == b"1"


def test_url_with_user_escaped_password_and_database(protected):
    url = "redis://odoo:p%40ss%2Fw%3Ard@127.0.0.1:{}/3".format(protected.port)
    client = client_for(URL=url, HOST="wrong-host", PORT="1")
    client.set("session:y", b"2")
    assert protected.client().get("session:y") is None
    assert protected.client(db=3).get("session:y") == b"2"
    assert client.acl_whoami() == "odoo"


def test_unix_socket_url(protected, tmp_path):
    client = client_for(URL="unix://:default-pw@%s?db=1" % (tmp_path / "redis.sock"))
    client.set("session:z", b"3")
    assert protected.client(db=1).get("session:z") == b"3"


def test_sentinel_finds_the_master(tmp_path):
    master = RedisServer(str(tmp_path / "master")).start()
    sentinel_port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        "port %d\nbind 127.0.0.1\nsentinel monitor shop 127.0.0.1 %d 1\n" % (sentinel_port, master.port)
    )
    sentinel = RedisServer(
        str(tmp_path / "sentinel"), port=sentinel_port, config_file=str(conf), extra_args=["--sentinel"]
    ).start()
    try:
        client = client_for(
            SENTINEL_HOST="127.0.0.1", SENTINEL_PORT=str(sentinel_port), SENTINEL_MASTER_NAME="shop"
        )
        client.set("session:s", b"4")
        assert master.client().get("session:s") == b"4"
    finally:
        sentinel.stop()
        master.stop()
