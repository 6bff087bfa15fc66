"""Hashed ids at rest (``ODOO_SESSION_REDIS_HASH_IDS``), against a real
(private) redis-server, with Odoo 18's ids (the device identifier is part
of the id): nothing in Redis is a credential; switching hashing on logs
nobody out, each session moving to its hashed key at its first load; every
way a session ends removes every key it may live under; switching it off
again leaves the hashed sessions unreadable (their users log in again) but
still ended by every revocation. The same through Odoo nodes is in ``test_series_hashed_ids``.
"""

import hashlib
import re

import pytest
from werkzeug.contrib.sessions import Session

from session_redis.core import jobs
from session_redis.core.layout import activity_key, device_index_key, session_key, user_index_key
from session_redis.core.store import LOGIN_INFO, short_hash, short_id
from tests.support.stores import DeviceStore, dump, new_identifier

PREFIX = "shop"
DB = "prod"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def store_on(client, hash_ids, prefix=PREFIX):
    return DeviceStore(client, Session, prefix=prefix, expiration=1000, hash_ids=hash_ids)


def logged_in(store, identifier=None, uid=2):
    sid = (identifier or new_identifier()) + new_identifier()
    session = Session({}, sid, True)
    session.update(uid=uid, db=DB, login="user%d" % uid, **{LOGIN_INFO: {"ip": "10.0.0.1"}})
    store.save(session)
    store.record_activity(session)
    return sid


def keys(client, prefix=PREFIX):
    """The keys of this test's prefix (nodes of earlier tests may still
    write to the same private Redis)."""
    return sorted(key.decode() for key in client.scan_iter(match="session:%s:*" % prefix))


def test_with_hashing_no_key_index_or_value_holds_an_id_or_a_device_identifier(redis_client):
    store = store_on(redis_client, hash_ids=True)
    device = new_identifier()
    sids = [logged_in(store, device), logged_in(store, device), logged_in(store, uid=7)]
    anonymous = store.new()
    anonymous["sale_order_id"] = 4
    store.save(anonymous)

    stored = dump(redis_client)
    for sid in sids + [anonymous.sid]:
        assert sid not in stored and sid[:42] not in stored and sid[42:] not in stored
        assert (
            store.get(sid)["uid"] in (2, 7) if sid != anonymous.sid else store.get(sid)["sale_order_id"] == 4
        )
    assert session_key(sha(sids[0]), PREFIX) in keys(redis_client)
    assert device_index_key(sha(device), PREFIX) in keys(redis_client)
    assert activity_key(sha(sids[0]), PREFIX) in keys(redis_client)
    # nothing in Redis is shaped like an id this store takes (84 url-safe characters)
    assert not [token for token in re.findall(r"[A-Za-z0-9_-]{84}", stored) if store.is_valid_key(token)]

    listed = store.user_sessions(DB, 2)
    assert sorted(session.entry for session in listed) == sorted(sha(sid) for sid in sids[:2])
    assert listed[0].login_info == {"ip": "10.0.0.1"}
    # the short id shown by logs, the CLI and the sessions views starts the key's name
    assert short_hash(sids[0]) == "#" + sha(sids[0])[:12] and short_id(sha(sids[0])) == sha(sids[0])[:12]

    store.delete(store.get(sids[0]))  # a logout: the device's other (older) session ends too
    assert store.get(sids[0]).new and store.get(sids[1]).new
    assert store.end_identifiers([sids[2][:42]]) == 1
    assert store.list() == [sha(anonymous.sid)]
    assert keys(redis_client) == [session_key(sha(anonymous.sid), PREFIX)]


def test_switching_hashing_on_logs_nobody_out_and_moves_each_session_at_its_first_load(redis_client):
    plain, hashing = store_on(redis_client, hash_ids=False), store_on(redis_client, hash_ids=True)
    device = new_identifier()
    sid, other = logged_in(plain, device), logged_in(plain, device)
    assert sid in dump(redis_client)

    session = hashing.get(sid)  # the first request after the switch
    assert (
        session["uid"] == 2 and not session.new and session.modified
    ), "read from its plain key, to be moved"
    assert hashing.last_activity(session), "the activity recorded under the plain id still counts"
    hashing.save(session)  # the end of that request
    stored = dump(redis_client)
    assert sid not in stored and sid[42:] not in stored, "moved with its index entries and activity record"
    assert other in stored, "the other session moves at its own first load"
    assert redis_client.exists(session_key(sha(sid), PREFIX)) == 1
    assert {member.decode() for member in redis_client.smembers(user_index_key(DB, 2, PREFIX))} == {
        sha(sid),
        other,
    }
    assert redis_client.smembers(device_index_key(sha(device), PREFIX)) == {sha(sid).encode()}
    assert (
        hashing.get(sid)["uid"] == 2 and not hashing.get(sid).modified
    ), "the next load reads the hashed key"
    assert sorted(session.entry for session in hashing.user_sessions(DB, 2)) == sorted([sha(sid), other])

    # one device, one session moved and one not: a device revocation ends both
    assert hashing.missing_identifiers([device]) == set()
    assert hashing.end_identifiers([device]) == 2
    assert keys(redis_client) == [] or all(":user:" in key for key in keys(redis_client))
    assert hashing.missing_identifiers([device]) == {device}


@pytest.mark.parametrize("way", ["logout", "user revoked", "device revoked", "revoke --all", "delete_many"])
def test_every_way_a_session_ends_removes_every_key_it_may_live_under(way, redis_client):
    plain, hashing = store_on(redis_client, hash_ids=False), store_on(redis_client, hash_ids=True)
    device = new_identifier()
    not_moved = logged_in(plain, device)
    moved = logged_in(plain, device)
    hashing.save(hashing.get(moved))
    fresh = logged_in(hashing, device)
    # the older camptocamp module's key of a prefixed session too
    redis_client.set("session::%s:%s" % (PREFIX, not_moved), b'{"uid": 2, "db": "prod"}', ex=100)

    if way == "logout":
        for sid in (not_moved, moved, fresh):
            hashing.delete(hashing.get(sid))
    elif way == "user revoked":
        assert hashing.end_user_sessions(DB, 2) == 3
    elif way == "device revoked":
        assert hashing.end_identifiers([device]) == 3
    elif way == "revoke --all":
        assert jobs.revoke_sessions(hashing, everything=True).revoked == 3  # 4 keys scanned
    else:
        assert hashing.delete_many([not_moved, sha(moved), sha(fresh)], [(DB, 2)] * 3) == 3
    left = [key for key in keys(redis_client) if ":user:" not in key and ":device:" not in key]
    assert left == [], way
    for index in (user_index_key(DB, 2, PREFIX), device_index_key(device, PREFIX)):
        assert redis_client.smembers(index) == set(), (way, index)
    # an index entry ended by its hash (the user index lists no device)
    # may stay in the hashed device index until it expires, naming no key
    for member in redis_client.smembers(device_index_key(sha(device), PREFIX)):
        assert redis_client.exists(session_key(member.decode(), PREFIX)) == 0, way
    assert hashing.missing_identifiers([device]) == {device}, way


def test_switching_hashing_off_again_logs_hashed_sessions_out_but_still_ends_them(redis_client):
    hashing, plain = store_on(redis_client, hash_ids=True), store_on(redis_client, hash_ids=False)
    sids = [logged_in(hashing), logged_in(hashing)]
    # a hash cannot be turned back into its id, and a lookup without hashing
    # reads no hashed key (a miss costs one GET): those users log in again
    assert plain.get(sids[0]).new
    stats = jobs.collect_stats(plain)
    assert (stats["sessions"], stats["logged_in"]) == (2, 2), "still counted"
    assert sorted(session.entry for session in plain.user_sessions(DB, 2)) == sorted(sha(sid) for sid in sids)
    assert plain.end_user_sessions(DB, 2) == 2, "a revocation still finds and ends them"
    assert [key for key in keys(redis_client) if ":device:" not in key] == []  # see the test above
    redis_client.flushall()

    sid = logged_in(hashing)
    assert plain.end_identifiers([sid[:42]]) == 1, "a device revocation too"
    assert keys(redis_client) == []


def test_a_session_moved_into_redis_from_files_is_stored_by_hash(redis_client):
    hashing = store_on(redis_client, hash_ids=True, prefix="")
    sid = new_identifier() + new_identifier()
    assert hashing.add_many([(sid, {"uid": 2, "db": DB, "login": "user2"})]) == [True]
    assert sid not in dump(redis_client)
    assert hashing.get(sid)["uid"] == 2
    assert hashing.add_many([(sid, {"uid": 3, "db": DB})]) == [False], "already stored: kept"
    assert hashing.stored([sid, sha(sid)]) == [True, True]
