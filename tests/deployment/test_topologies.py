"""Every Redis topology the addon supports, against real redis-server
processes: TLS (server and client certificates), a least-privilege ACL
user, master + replica + sentinels, and a three-node cluster.

For each one, a client-level test (``make_client(load_settings(...))``
checked through an independent client) and an end-to-end test (two Odoo
nodes sharing that topology). Every server is started by the test, on free
loopback ports, in its tmp folder, and stopped at its end.
"""

import concurrent.futures

import pytest
from odoo.http import OpenERPSession
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError

from session_redis.core.client import make_client
from session_redis.core.layout import session_key
from session_redis.core.settings import load_settings
from session_redis.core.store import RedisSessionStore
from tests.support.servers import wait_until
from tests.support.topologies import (
    ACL_USER,
    Cluster,
    SentinelSet,
    TlsRedisServer,
    acl_server,
    make_certificates,
    running,
)

USER_PASSWORD = "user-pw"
ADMIN_PASSWORD = "admin-pw"
MASTER_PASSWORD = "master-pw"
SENTINEL_PASSWORD = "sentinel-pw"


def variables(**values):
    return {"ODOO_SESSION_REDIS_" + name: value for name, value in values.items()}


def client_for(**values):
    return make_client(load_settings(variables(**values)))


def store_for(client):
    return RedisSessionStore(client, session_class=OpenERPSession)


@pytest.fixture(params=["11.0", "18.0"])
def nodes(request, odoo_nodes, series_nodes):
    """Threaded nodes of Odoo 11 and of 18: the client is the same core, but
    each Odoo builds and calls the store its own way."""
    return odoo_nodes if request.param == "11.0" else series_nodes(request.param)


def key_of(sid):
    return session_key(sid).encode()


def start_two_nodes(nodes, **values):
    """Two Odoo nodes using the topology ``values`` describe, started side
    by side (each start waits for its HTTP port) to keep the run short."""
    settings = {"URL": ""}  # not the fixture's private Redis
    settings.update(values)
    env = variables(**settings)
    made = [nodes(name, env=env, start=False) for name in ("a", "b")]
    with concurrent.futures.ThreadPoolExecutor(len(made)) as pool:
        for future in [pool.submit(node.start) for node in made]:
            future.result()
    return made


def shared_login(nodes, **values):
    """Log in on one node, be known on the other; return the session id."""
    a, b = start_two_nodes(nodes, **values)
    sid = a.login()
    assert b.session_info(sid)["username"] == "admin"
    return sid


# --- TLS ---------------------------------------------------------------------


@pytest.fixture
def certificates(tmp_path):
    return make_certificates(str(tmp_path / "certs"))


@pytest.fixture
def tls_server(tmp_path, certificates):
    """TLS only; a client certificate is accepted but not required."""
    with running(TlsRedisServer(str(tmp_path / "tls"), certificates)) as server:
        yield server


@pytest.fixture
def mtls_server(tmp_path, certificates):
    """TLS only, and every client must show a certificate of our CA."""
    server = TlsRedisServer(str(tmp_path / "mtls"), certificates, auth_clients="yes")
    with running(server):
        yield server


def test_tls_rediss_url_with_ca_file(tls_server, certificates):
    client = client_for(URL=tls_server.url, SSL_CA_CERTS=certificates.ca)
    client.set("session:tls-url", b"1")
    assert tls_server.client().get("session:tls-url") == b"1"


def test_tls_flag_with_host_and_port(tls_server, certificates):
    client = client_for(SSL="true", HOST="127.0.0.1", PORT=str(tls_server.port), SSL_CA_CERTS=certificates.ca)
    client.set("session:tls-flag", b"2")
    assert tls_server.client().get("session:tls-flag") == b"2"


def test_tls_client_certificate_when_the_server_requires_one(mtls_server, certificates):
    client = client_for(
        URL=mtls_server.url,
        SSL_CA_CERTS=certificates.ca,
        SSL_CERTFILE=certificates.client_cert,
        SSL_KEYFILE=certificates.client_key,
    )
    client.set("session:mtls", b"3")
    assert mtls_server.client().get("session:mtls") == b"3"


def test_tls_missing_client_certificate_is_a_connection_error(mtls_server, certificates):
    """The server closes the connection after the handshake: that must be a
    redis ConnectionError (the store turns it into HTTP 503)."""
    client = client_for(URL=mtls_server.url, SSL_CA_CERTS=certificates.ca)
    with pytest.raises(RedisConnectionError):
        client.set("session:mtls", b"no")
    assert mtls_server.client().dbsize() == 0


def test_tls_server_of_an_unknown_ca_is_refused(tls_server):
    client = client_for(SSL="true", HOST="127.0.0.1", PORT=str(tls_server.port), SSL_CERT_REQS="required")
    with pytest.raises(RedisConnectionError) as error:
        client.ping()
    assert "certificate verify failed" in str(error.value)
    assert tls_server.client().dbsize() == 0


def test_end_to_end_tls_with_client_certificate(nodes, mtls_server, certificates):
    sid = shared_login(
        nodes,
        URL=mtls_server.url,
        SSL_CA_CERTS=certificates.ca,
        SSL_CERTFILE=certificates.client_cert,
        SSL_KEYFILE=certificates.client_key,
    )
    assert mtls_server.client().exists(key_of(sid)) == 1


# --- ACL user ----------------------------------------------------------------


@pytest.fixture
def acl(tmp_path):
    with running(acl_server(str(tmp_path / "acl"), USER_PASSWORD, ADMIN_PASSWORD)) as server:
        yield server


def acl_variables(server):
    return dict(HOST="127.0.0.1", PORT=str(server.port), USERNAME=ACL_USER, PASSWORD=USER_PASSWORD)


def test_acl_user_runs_the_store(acl):
    store = store_for(client_for(**acl_variables(acl)))
    session = store.new()
    session.update(uid=2, login="admin", db="prod")
    store.save(session)
    admin = acl.client()
    assert admin.ttl(key_of(session.sid)) > 0
    back = store.get(session.sid)
    assert not back.new and (back.sid, back.uid, back.login) == (session.sid, 2, "admin")
    assert store.list() == [session.sid]
    store.delete(session)
    assert admin.exists(key_of(session.sid)) == 0
    assert store.get(session.sid).new


def test_acl_user_is_limited_to_session_keys(acl):
    client = client_for(**acl_variables(acl))
    client.set("session:allowed", b"1")
    with pytest.raises(NoPermissionError):
        client.keys("*")
    with pytest.raises(NoPermissionError):
        client.set("other:key", b"1")
    with pytest.raises(NoPermissionError):
        client.get("other:key")
    with pytest.raises(NoPermissionError):
        client.flushall()
    admin = acl.client()
    assert admin.keys("*") == [b"session:allowed"]


def test_end_to_end_acl_user(nodes, acl):
    sid = shared_login(nodes, **acl_variables(acl))
    admin = acl.client()
    assert admin.exists(key_of(sid)) == 1
    assert all(key.startswith(b"session:") for key in admin.keys("*"))


# --- Sentinel ----------------------------------------------------------------


@pytest.fixture
def sentinels(tmp_path):
    with running(SentinelSet(str(tmp_path / "sentinel"), sentinels=2)) as topology:
        yield topology


@pytest.fixture
def protected_sentinels(tmp_path):
    with running(
        SentinelSet(
            str(tmp_path / "sentinel"),
            sentinels=2,
            password=MASTER_PASSWORD,
            sentinel_password=SENTINEL_PASSWORD,
        )
    ) as topology:
        yield topology


def written_to_the_master(topology, key, value):
    assert topology.master.client().get(key) == value
    wait_until(lambda: topology.replica.client().get(key) == value, 10, "replication of " + key)


def test_sentinel_two_hosts(sentinels):
    settings = dict(SENTINEL_HOST=sentinels.hosts, SENTINEL_MASTER_NAME=sentinels.name)
    client_for(**settings).set("session:s1", b"1")
    written_to_the_master(sentinels, "session:s1", b"1")
    # The second sentinel alone is enough: the whole list is used.
    sentinels.sentinels[0].stop()
    client_for(**settings).set("session:s2", b"2")
    written_to_the_master(sentinels, "session:s2", b"2")


def test_sentinel_with_passwords(protected_sentinels):
    topology = protected_sentinels
    settings = dict(
        SENTINEL_HOST=topology.hosts, SENTINEL_MASTER_NAME=topology.name, PASSWORD=MASTER_PASSWORD
    )
    client = client_for(SENTINEL_PASSWORD=SENTINEL_PASSWORD, **settings)
    client.set("session:p", b"1")
    written_to_the_master(topology, "session:p", b"1")


def test_sentinel_password_missing_is_a_connection_error(protected_sentinels):
    """The sentinels do want their password: without it, a redis
    ConnectionError (the store turns it into HTTP 503)."""
    topology = protected_sentinels
    client = client_for(
        SENTINEL_HOST=topology.hosts, SENTINEL_MASTER_NAME=topology.name, PASSWORD=MASTER_PASSWORD
    )
    with pytest.raises(RedisConnectionError):
        client.set("session:p", b"no")
    assert topology.master.client().dbsize() == 0


def test_sentinels_that_require_an_acl_user(tmp_path):
    """ODOO_SESSION_REDIS_SENTINEL_USERNAME reaches the sentinels: theirs is
    the only user they accept, and without it the master is not found."""
    folder = str(tmp_path / "sentinel")
    user, secret = "watcher", "watcher-pw"
    with running(
        SentinelSet(folder, password=MASTER_PASSWORD, sentinel_username=user, sentinel_password=secret)
    ) as topology:
        settings = dict(
            SENTINEL_HOST=topology.hosts, SENTINEL_MASTER_NAME=topology.name, PASSWORD=MASTER_PASSWORD
        )
        client = client_for(SENTINEL_USERNAME=user, SENTINEL_PASSWORD=secret, **settings)
        client.set("session:acl", b"1")
        written_to_the_master(topology, "session:acl", b"1")
        without_user = client_for(SENTINEL_PASSWORD=secret, **settings)
        with pytest.raises(RedisConnectionError):
            without_user.set("session:acl", b"no")
        assert topology.master.client().get("session:acl") == b"1"


def test_end_to_end_sentinel(nodes, protected_sentinels):
    topology = protected_sentinels
    sid = shared_login(
        nodes,
        SENTINEL_HOST=topology.hosts,
        SENTINEL_MASTER_NAME=topology.name,
        PASSWORD=MASTER_PASSWORD,
        SENTINEL_PASSWORD=SENTINEL_PASSWORD,
    )
    assert topology.master.client().exists(key_of(sid)) == 1


# --- Cluster -----------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path):
    with running(Cluster(str(tmp_path / "cluster"))) as topology:
        yield topology


def test_cluster_store_spreads_sessions_over_the_nodes(cluster):
    store = store_for(client_for(CLUSTER="true", URL="redis://%s/0" % cluster.addresses[0]))
    sessions = []
    for number in range(20):
        session = store.new()
        session.update(uid=number + 1, login="user%d" % number)
        store.save(session)
        sessions.append(session)

    slots = {cluster.nodes[0].client().cluster("keyslot", store.key(s.sid)) for s in sessions}
    sizes = [node.client().dbsize() for node in cluster.nodes]
    assert len(slots) > 1 and sum(sizes) == 20
    assert len([size for size in sizes if size]) >= 2, sizes
    for session in sessions:
        back = store.get(session.sid)
        assert not back.new and (back.uid, back.login) == (session.uid, session.login)
    assert sorted(store.list()) == sorted(session.sid for session in sessions)


def test_end_to_end_cluster(nodes, cluster):
    sid = shared_login(nodes, CLUSTER="true", URL="redis://%s/0" % cluster.addresses[1])
    assert cluster.client().exists(key_of(sid)) == 1


def test_a_cluster_still_being_formed_at_start_is_a_503_until_it_is_formed(nodes, tmp_path):
    """Nodes that answer before their slots are assigned (a cluster coming up
    beside Odoo) are an outage like an unreachable Redis, not a start-up
    failure; the first request after the cluster formed works."""
    with running(Cluster(str(tmp_path / "cluster"), formed=False)) as topology:
        node = nodes(env=variables(URL="redis://%s/0" % topology.addresses[0], CLUSTER="true"))
        assert "Redis does not answer yet" in node.log()
        well_formed = "c" * (84 if node.series in ("18.0", "19.0") else 40)  # a malformed id asks no Redis
        response = node.json("/web/session/get_session_info", session_id=well_formed)
        assert response.status_code == 503 and "temporarily unavailable" in response.text
        topology.form()
        sid = node.login()
        assert node.session_info(sid)["username"] == "admin"
        assert topology.client().exists(key_of(sid)) == 1
