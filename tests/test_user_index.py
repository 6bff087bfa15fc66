"""The per-user session index, against a real (private) redis-server: every
logged-in session is registered under its database and user id, and each
way a session ends takes its entry with it, so a user's sessions are found
and ended without a SCAN over the keyspace."""

import pytest
from odoo.http import OpenERPSession
from redis import Redis
from redis.connection import Connection, ConnectionPool

from session_redis.core.layout import legacy_session_key
from session_redis.core.store import LOGIN_INFO, RedisSessionStore
from tests.servers import wait_until
from tests.test_store import Clock


@pytest.fixture
def clock():
    return Clock()


class CountingConnection(Connection):
    """Counts what is sent to Redis: one send per round trip (a pipeline
    sends all its commands at once)."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


@pytest.fixture
def counting(redis_server, redis_client):
    pool = ConnectionPool(connection_class=CountingConnection, host="127.0.0.1", port=redis_server.port)
    CountingConnection.sent = 0
    return Redis(connection_pool=pool)


def store_on(client, **options):
    options.setdefault("expiration", 1000)
    return RedisSessionStore(client, OpenERPSession, prefix="shop", **options)


def logged_in(store, uid=2, db="prod", **data):
    session = store.new()
    session.update(db=db, uid=uid, login="user%d" % uid, **data)
    store.save(session)
    return session


def sids(store, db="prod", uid=2):
    return [session.sid for session in store.user_sessions(db, uid)]


def test_logged_in_sessions_are_registered_anonymous_ones_are_not(redis_client):
    store = store_on(redis_client)
    first, second = (
        logged_in(store),
        logged_in(store, **{LOGIN_INFO: {"ip": "10.1.2.3", "browser": "Firefox"}}),
    )
    other_db = logged_in(store, db="test")
    anonymous = store.new()
    anonymous.update(db="prod", sale_order_id=4)
    store.save(anonymous)
    listed = store.user_sessions("prod", 2)
    assert {session.sid for session in listed} == {first.sid, second.sid}
    assert [session.created for session in listed] == sorted(session.created for session in listed)
    assert {session.sid: session.login_info for session in listed}[second.sid] == {
        "ip": "10.1.2.3",
        "browser": "Firefox",
    }
    assert all(session.created > 0 and 990 <= session.expires_in <= 1000 for session in listed)
    assert sids(store, db="test") == [other_db.sid]
    assert (
        redis_client.scard(store.index_key("prod", 2)) == 2
        and redis_client.ttl(store.index_key("prod", 2)) > 0
    )


def test_logout_rotation_and_max_lifetime_take_the_entry_with_them(redis_client, clock):
    store = store_on(redis_client, max_lifetime=300, clock=clock)
    kept, logout, rotated = (logged_in(store).sid for _ in range(3))

    session = store.get(logout)  # Odoo's logout empties the session, then deletes it
    session.clear()
    store.delete(session)
    session = store.get(rotated)  # rotation: delete, then save under a new id
    store.delete(session)
    session.sid = store.generate_key()
    store.save(session)
    assert sorted(sids(store)) == sorted([kept, session.sid])
    assert redis_client.scard(store.index_key("prod", 2)) == 2

    clock.now += 301
    assert store.get(kept).new and store.get(session.sid).new
    assert redis_client.scard(store.index_key("prod", 2)) == 0


def test_end_user_sessions_keeps_one_and_spares_other_users(redis_client):
    store = store_on(redis_client)
    current, *others = [logged_in(store).sid for _ in range(4)]
    older = "a" * 40  # a session the index knows, still under the older module's key
    redis_client.set(legacy_session_key(older, "shop"), b'{"uid": 2, "db": "prod"}', ex=100)
    redis_client.sadd(store.index_key("prod", 2), older)
    stranger = logged_in(store, uid=7).sid
    assert store.end_user_sessions("prod", 2, keep=current) == 4
    assert sids(store) == [current] and sids(store, uid=7) == [stranger]
    assert redis_client.exists(legacy_session_key(older, "shop")) == 0
    assert all(store.get(sid).new for sid in others)


def test_the_index_is_gone_one_expiration_after_the_last_session(redis_client):
    store = store_on(redis_client, expiration=2, expiration_anonymous=1)
    for _ in range(3):
        logged_in(store)
    index = store.index_key("prod", 2)
    assert redis_client.scard(index) == 3
    wait_until(lambda: store.list() == [], 10, "the sessions to expire")
    wait_until(lambda: redis_client.exists(index) == 0, 3, "the index to go within one expiration period")


def test_a_save_that_changes_the_index_is_one_round_trip_and_a_read_one_command(counting, redis_client):
    store = store_on(counting)
    counting.ping()  # the connection's own hand-shake is not the store's
    CountingConnection.sent = 0
    session = logged_in(store)
    assert CountingConnection.sent == 1
    redis_client.config_resetstat()
    CountingConnection.sent = 0
    for _ in range(10):
        back = store.get(session.sid)
        back.modified = True  # as Odoo does on nearly every request
        store.save(back)
    assert CountingConnection.sent == 10
    stats = redis_client.info("commandstats")
    stats.pop("cmdstat_config|resetstat", None)
    assert {name: stat["calls"] for name, stat in stats.items()} == {"cmdstat_get": 10}


def test_rebuild_finds_sessions_written_before_the_index(redis_client):
    store = store_on(redis_client)
    written = [logged_in(store, uid=uid).sid for uid in (2, 2, 3)]
    redis_client.set(legacy_session_key("b" * 40, "shop"), b'{"uid": 3, "db": "prod", "login": "x"}', ex=100)
    for uid in (2, 3):
        redis_client.delete(store.index_key("prod", uid))
    assert sids(store) == []
    assert store.rebuild_index(batch=2) == (4, 2)
    assert sorted(sids(store)) == sorted(written[:2])
    assert sorted(sids(store, uid=3)) == sorted([written[2], "b" * 40])
