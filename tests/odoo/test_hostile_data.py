"""Hostile data already in Redis (written by something else than this
store): a key of another type where a session or an index should be,
index entries that are no session ids. Each answers as a broken session
does (a fresh one, a warning), never a 5xx, and no key is ever derived
from an entry that is not a session id."""

import logging
import re

from odoo.http import OpenERPSession

from session_redis.core.layout import session_key, user_index_key
from session_redis.core.store import RedisSessionStore

DB = "prod"


def store_on(client):
    return RedisSessionStore(client, OpenERPSession, expiration=1000)


def logged_in(store, uid=2):
    session = store.new()
    session.update(db=DB, uid=uid, login="user%d" % uid)
    store.save(session)
    return session


def test_a_session_key_of_another_type_gives_a_fresh_session_and_a_warning(redis_client, caplog):
    store = store_on(redis_client)
    sid = "ab" * 20
    redis_client.rpush(store.key(sid), "not", "a", "session")
    with caplog.at_level(logging.WARNING):
        session = store.get(sid)
    assert session.new and session.sid != sid and not session.uid
    assert "unreadable" in caplog.text and sid not in caplog.text
    session["sale_order_id"] = 4
    store.save(session)  # the fresh session is stored under its own id
    assert redis_client.type(store.key(session.sid)) == b"string"


def test_a_login_replaces_a_user_index_that_is_not_a_set(redis_client, caplog):
    store = store_on(redis_client)
    redis_client.set(store.index_key(DB, 2), "hostile")
    with caplog.at_level(logging.WARNING):
        session = logged_in(store)
    assert redis_client.smembers(store.index_key(DB, 2)) == {session.sid.encode()}
    assert redis_client.ttl(store.index_key(DB, 2)) > 0
    assert "was not a set: replaced" in caplog.text
    assert store.end_user_sessions(DB, 2) == 1 and store.get(session.sid).new


def test_a_logout_works_when_the_index_is_not_a_set(redis_client):
    store = store_on(redis_client)
    session = logged_in(store)
    redis_client.delete(store.index_key(DB, 2))
    redis_client.set(store.index_key(DB, 2), "hostile")
    loaded = store.get(session.sid)
    store.delete(loaded)
    assert redis_client.exists(store.key(session.sid)) == 0


def test_entries_that_are_no_session_ids_are_never_listed_never_become_keys_and_are_repaired_away(
    redis_client, caplog
):
    store = store_on(redis_client)
    mine, kept = logged_in(store), logged_in(store)
    other = logged_in(store, uid=8)
    index = store.index_key(DB, 2)
    # another user's index, a non-UTF-8 entry, a pattern, and a key with bad metadata
    redis_client.sadd(index, "user:8:%s" % DB, b"\xff\xfe" * 20, "*")
    bad_meta = "cd" * 20
    redis_client.set(
        store.key(bad_meta), '{"uid": 2, "db": "prod", "_session_redis": {"created": "x"}}', ex=100
    )
    redis_client.sadd(index, bad_meta)
    listed = store.user_sessions(DB, 2)
    assert sorted(row.entry for row in listed) == sorted([mine.sid, kept.sid])
    assert redis_client.scard(index) == 6, "a listing writes nothing"
    with caplog.at_level(logging.WARNING):
        store.rebuild_index()  # the command that says it repairs
    assert "3 entries that are no session ids removed" in caplog.text
    assert redis_client.scard(index) == 3
    assert store.end_user_sessions(DB, 2, keep=kept.sid) == 2  # mine, and the unreadable one's key
    assert redis_client.smembers(store.index_key(DB, 8)) == {other.sid.encode()}  # untouched
    assert not store.get(other.sid).new and not store.get(kept.sid).new


def test_a_device_index_that_is_not_a_set_lists_nothing_and_is_ended(redis_client):
    class LongIds(RedisSessionStore):
        id_pattern = re.compile(r"[A-Za-z0-9_-]{40}")
        identifier_length = 20

    store = LongIds(redis_client, OpenERPSession, expiration=1000)
    identifier = "ef" * 10
    redis_client.set("session:device:" + identifier, "hostile")
    assert store.end_identifiers([identifier]) == 0
    assert redis_client.exists("session:device:" + identifier) == 0


# --- through Odoo 11 and 18 ---------------------------------------------------


def test_through_odoo_a_key_of_another_type_and_an_index_that_is_no_set_answer_no_5xx(nodes, redis_client):
    node = nodes("a")
    sid = node.login()
    uid = node.session_info(sid)["uid"]
    redis_client.delete(session_key(sid))
    redis_client.rpush(session_key(sid), "hostile")  # the cookie's key, of another type
    assert node.session_info(sid) is None  # a fresh session, logged out, not a 503
    redis_client.set(user_index_key(node.database, uid), "hostile")
    again = node.login()  # a login registers the session in that index
    assert node.session_info(again)["uid"] == uid
    assert redis_client.sismember(user_index_key(node.database, uid), again)
    assert node.json("/web/session/destroy", session_id=again).status_code == 200
    assert redis_client.exists(session_key(again)) == 0
    assert "Redis unavailable" not in node.log() and "Traceback" not in node.log()
