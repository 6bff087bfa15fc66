"""The session's GET sent as the request arrives (``prefetch``), its reply
read when the session is asked for: against real redis-server processes."""

import os
import signal
import time

import pytest
from odoo.http import OpenERPSession

from session_redis.core.client import make_client
from session_redis.core.settings import load_settings
from session_redis.core.store import RedisSessionStore, RedisUnavailable
from tests.support.servers import RedisServer, wait_until
from tests.support.stores import commands
from tests.support.topologies import SentinelSet, running

SID = "a" * 40
OTHER = "b" * 40


def store_on(client, **options):
    return RedisSessionStore(client, session_class=OpenERPSession, expiration=1000, **options)


def logged_in(store, sid, login="admin"):
    session = OpenERPSession({}, sid, True)
    session.update(uid=2, db="prod", login=login)
    store.save(session)
    return session


def idle_pool(client):
    """Every connection of the client's pool is back, and answers in step."""
    pool = client.connection_pool
    return not pool._in_use_connections and client.echo("in step") == b"in step"


@pytest.fixture
def store(redis_client):
    return store_on(redis_client)


def test_the_reply_read_is_the_one_sent_when_the_request_arrived(store, redis_client):
    logged_in(store, SID)
    commands(redis_client)
    store.prefetch(SID)
    redis_client.set(store.key(SID), b"not json")  # after the GET: not what the request reads
    session = store.get(SID)
    assert (session.sid, session.login) == (SID, "admin")
    assert commands(redis_client) == {"get": 1, "set": 1}
    assert idle_pool(redis_client)


def test_a_session_ended_before_the_request_arrived_is_not_served(store, redis_client):
    session = logged_in(store, SID)
    store.delete(session)
    store.prefetch(SID)
    back = store.get(SID)
    assert back.get("uid") is None and back.get("login") is None


def test_a_session_ended_while_its_request_ran_is_not_brought_back(store, redis_client):
    logged_in(store, SID)
    store.prefetch(SID)
    session = store.get(SID)
    store_on(redis_client).delete(store.get(SID))  # a logout elsewhere, after the read
    session["cart"] = 3
    store.save(session)
    assert redis_client.keys("session:*") == []


def test_another_id_than_the_one_read_early_is_read_itself(store, redis_client):
    logged_in(store, SID, "first")
    logged_in(store, OTHER, "second")
    commands(redis_client)
    store.prefetch(SID)
    assert store.get(OTHER).login == "second"
    assert commands(redis_client) == {"get": 2}  # the early one, thrown away, and its own
    assert store.get(SID).login == "first"
    assert idle_pool(redis_client)


def test_an_early_read_nobody_asked_for_is_dropped(store, redis_client):
    logged_in(store, SID)
    store.prefetch(SID)
    store.drop_prefetch()
    store.drop_prefetch()  # twice: nothing left to drop
    assert idle_pool(redis_client)
    assert store.get(SID).login == "admin"


def test_with_read_early_off_the_session_is_read_when_asked_for(redis_client):
    store = store_on(redis_client, read_early=False)
    logged_in(store, SID)
    commands(redis_client)
    store.prefetch(SID)
    assert commands(redis_client) == {}
    redis_client.delete(store.key(SID))
    assert store.get(SID).get("login") is None


def test_an_id_that_is_no_id_sends_nothing(store, redis_client):
    commands(redis_client)
    store.prefetch("../../etc/passwd")
    store.prefetch(None)
    assert commands(redis_client) == {}
    assert idle_pool(redis_client)


def test_hashed_ids_read_early_under_the_hashed_key(redis_client):
    store = store_on(redis_client, hash_ids=True)
    logged_in(store, SID)
    store.prefetch(SID)
    redis_client.delete(store.key(SID))
    assert store.get(SID).login == "admin"  # read before the delete: the hashed key was asked
    assert idle_pool(redis_client)


def test_a_value_of_another_type_reads_as_unreadable(store, redis_client, caplog):
    redis_client.sadd(store.key(SID), "x")
    store.prefetch(SID)
    session = store.get(SID)
    assert session.sid != SID and "unreadable" in caplog.text
    assert idle_pool(redis_client)


def connections_made(client):
    """How many connections the server ``client`` talks to has accepted."""
    return client.info("stats")["total_connections_received"]


def test_requests_read_early_on_one_kept_connection(store, redis_client):
    logged_in(store, SID)
    store.prefetch(SID)
    store.get(SID)
    before = connections_made(redis_client)
    for _ in range(20):
        store.prefetch(SID)
        assert store.get(SID).login == "admin"
        store.drop_prefetch()
    assert connections_made(redis_client) == before  # none made per request


def test_through_a_unix_socket_requests_read_early_on_one_kept_connection(tmp_path):
    """Redis on Odoo's host, reached through its socket (the bench's
    fastest read): the early read's own connections are made like the
    pool's, a Unix socket's too."""
    socket = str(tmp_path / "redis.sock")
    server = RedisServer(str(tmp_path / "redis"), extra_args=["--unixsocket", socket]).start()
    try:
        client = make_client(load_settings({"ODOO_SESSION_REDIS_URL": "unix://%s?db=0" % socket}))
        store = store_on(client)
        logged_in(store, SID)
        store.prefetch(SID)
        assert store.get(SID).login == "admin"
        watcher = server.client()
        before = connections_made(watcher)
        for _ in range(20):
            store.prefetch(SID)
            assert store.get(SID).login == "admin"
        assert connections_made(watcher) == before  # none made per request
        watcher.delete(store.key(SID))  # a logout elsewhere
        store.prefetch(SID)
        assert store.get(SID).get("login") is None
    finally:
        server.stop()


def test_a_forked_worker_reads_on_its_own_connection(store, redis_client):
    """A prefork worker inherits the connection its parent read on: used
    by both, one process would read the other's replies (sessions)."""
    logged_in(store, SID, "first")
    logged_in(store, OTHER, "second")
    store.prefetch(SID)
    store.get(SID)  # the parent keeps a connection
    child = os.fork()
    if child == 0:
        status = 1
        try:
            for _ in range(300):
                store.prefetch(OTHER)
                if store.get(OTHER).login != "second":
                    break
            else:
                status = 0
        finally:
            os._exit(status)
    logins = set()
    for _ in range(300):
        store.prefetch(SID)
        logins.add(store.get(SID).login)
    assert child_status(child) == 0  # the child read its own session each time
    assert logins == {"first"}


def child_status(pid, timeout=30):
    """The exit status of child process ``pid``; killed (and a failure)
    if it has not ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked worker did not end within %d s" % timeout)


def test_after_a_sentinel_failover_reads_follow_the_new_master(tmp_path):
    """Connections read early on are the pool's, which follow the master:
    a session ended on the new master is not read from the old one, which
    still holds it until Sentinel demotes it."""
    with running(SentinelSet(str(tmp_path / "sentinel"), sentinels=1)) as topology:
        settings = load_settings(
            {
                "ODOO_SESSION_REDIS_SENTINEL_HOST": topology.hosts,
                "ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME": topology.name,
            }
        )
        store = store_on(make_client(settings))
        logged_in(store, SID)
        replica = topology.replica.client()
        wait_until(lambda: replica.exists(store.key(SID)), 10, "the session on the replica")
        store.prefetch(SID)
        assert store.get(SID).login == "admin"  # an early read on the master
        sentinel = topology.sentinels[0].client()
        sentinel.sentinel_failover(topology.name)
        wait_until(
            lambda: sentinel.sentinel_get_master_addr_by_name(topology.name)[1] == topology.replica.port,
            30,
            "the replica promoted",
        )
        time.sleep(1.2)  # the pool asks the sentinels at most once a second
        replica.delete(store.key(SID))  # a logout on the new master
        store.prefetch(SID)
        assert store.get(SID).get("login") is None


@pytest.fixture
def own_server(tmp_path):
    server = RedisServer(str(tmp_path / "redis")).start()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def settings_client(server, timeout="0.5"):
    return make_client(
        load_settings(
            {
                "ODOO_SESSION_REDIS_URL": server.url,
                "ODOO_SESSION_REDIS_SOCKET_TIMEOUT": timeout,
            }
        )
    )


def test_redis_down_is_a_503_and_the_store_heals(own_server, tmp_path):
    client = settings_client(own_server)
    store = store_on(client)
    logged_in(store, SID)
    own_server.stop()
    store.prefetch(SID)  # nothing sent, nothing raised
    with pytest.raises(RedisUnavailable):
        store.get(SID)
    own_server.start()  # the same port; this Redis keeps nothing on disk
    logged_in(store, SID)
    store.prefetch(SID)
    assert store.get(SID).login == "admin"
    assert idle_pool(client)


def test_a_connection_broken_before_the_reply_falls_back_to_a_new_one(own_server):
    client = settings_client(own_server)
    store = store_on(client)
    store.prefetch(SID)
    store.drop_prefetch()  # the connection is made and back in the pool
    os.kill(own_server.process.pid, signal.SIGSTOP)
    store.prefetch(SID)  # sent to a Redis that does not run
    os.kill(own_server.process.pid, signal.SIGKILL)
    own_server.process.wait(10)
    own_server.start()
    logged_in(store_on(own_server.client()), SID, "on the new server")
    assert store.get(SID).login == "on the new server"
    assert idle_pool(client)


def test_a_redis_that_hangs_answers_503_and_the_store_heals(own_server, figure):
    client = settings_client(own_server, timeout="0.5")
    store = store_on(client)
    logged_in(store, SID)
    os.kill(own_server.process.pid, signal.SIGSTOP)
    started = time.monotonic()  # the request arrives: its GET may time out while sent
    store.prefetch(SID)
    with pytest.raises(RedisUnavailable):
        store.get(SID)
    waited = time.monotonic() - started
    os.kill(own_server.process.pid, signal.SIGCONT)
    figure("early read, Redis hung (SIGSTOP), SOCKET_TIMEOUT=0.5: 503 after %.2f s" % waited)
    store.prefetch(SID)
    assert store.get(SID).login == "admin"
    assert idle_pool(client)


def test_a_new_connection_to_a_hung_redis_is_tried_once(own_server):
    """The early read's connection times out in its handshake: the 503
    comes then, not after the client's own GET has timed out on a second
    connection (a request that waited twice the time-out)."""
    watcher = own_server.client()
    connections = lambda: watcher.info("stats")["total_connections_received"]  # noqa: E731
    before = connections()
    store = store_on(settings_client(own_server, timeout="0.5"))  # no connection yet
    os.kill(own_server.process.pid, signal.SIGSTOP)  # the kernel still accepts connections
    try:
        store.prefetch(SID)
        with pytest.raises(RedisUnavailable):
            store.get(SID)
    finally:
        os.kill(own_server.process.pid, signal.SIGCONT)
    # Redis accepts the connections queued while it was stopped in one go
    wait_until(lambda: connections() > before, 10, "the queued connections accepted")
    assert connections() - before == 1
