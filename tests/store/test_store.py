"""RedisSessionStore against a real (private) redis-server."""

import json
import logging
import os

import pytest
from odoo.http import OpenERPSession
from werkzeug.contrib.sessions import SessionStore

from session_redis.core.codec import encode_session
from session_redis.core.layout import META, body_of, legacy_session_key, session_key
from session_redis.core.store import RedisSessionStore, RedisUnavailable, encode_with_times
from tests.support.servers import REPO, RedisServer
from tests.support.stores import Clock, commands

SID = "a" * 40


@pytest.fixture
def store(redis_client):
    return RedisSessionStore(
        redis_client, session_class=OpenERPSession, expiration=1000, expiration_anonymous=100
    )


def test_odoo11_glue_store_is_a_werkzeug_store_of_odoo_sessions(redis_client):
    from session_redis.odoo11.store import Odoo11SessionStore

    store = Odoo11SessionStore(redis_client, session_class=OpenERPSession)
    assert isinstance(store, SessionStore)
    session = store.new()
    assert isinstance(session, OpenERPSession) and session.new
    assert store.is_valid_key(session.sid)


@pytest.mark.parametrize("prefix, key", [("", "session:" + SID), ("shop", "session:shop:" + SID)])
def test_key_format_is_the_documented_one(redis_client, prefix, key):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix=prefix)
    store.save(OpenERPSession({"uid": 2}, SID, True))
    assert redis_client.keys("*") == [key.encode()]
    assert session_key(SID, prefix) == key


def test_saved_session_comes_back(store):
    session = store.new()
    session.update(uid=2, login="admin", db="prod", context={"lang": "fr_FR"})
    store.save(session)
    back = store.get(session.sid)
    assert isinstance(back, OpenERPSession) and not back.new
    assert (back.sid, back.uid, back.login, back.context) == (session.sid, 2, "admin", {"lang": "fr_FR"})


def test_logged_in_session_gets_the_user_expiration(store, redis_client):
    session = store.new()
    session.uid = 2
    store.save(session)
    assert 995 <= redis_client.ttl(store.key(session.sid)) <= 1000


def test_anonymous_session_gets_the_anonymous_expiration(store, redis_client):
    session = store.new()
    session.update(db="prod", sale_order_id=7)
    store.save(session)
    assert 95 <= redis_client.ttl(store.key(session.sid)) <= 100


def test_session_expiration_attribute_wins(store, redis_client):
    session = store.new()
    session.uid = 2
    session.expiration = 42
    store.save(session)
    assert 37 <= redis_client.ttl(store.key(session.sid)) <= 42


@pytest.mark.parametrize("bad", [0, -5, "60", 1.5, True])
def test_bad_session_expiration_falls_back_with_a_warning(store, redis_client, caplog, bad):
    session = store.new()
    session["sale_order_id"] = 1
    session.expiration = bad
    store.save(session)
    assert 95 <= redis_client.ttl(store.key(session.sid)) <= 100
    assert "expiration %r ignored" % (bad,) in caplog.text


def test_no_key_is_ever_without_ttl(store, redis_client):
    for uid in (None, 2):
        session = store.new()
        session.uid = uid
        store.save(session)
    assert all(redis_client.ttl(key) > 0 for key in redis_client.keys("*"))


def test_an_unknown_well_formed_id_is_kept_for_an_empty_new_session(store):
    """As Odoo's own store does: the CSRF token of a form is derived from
    the id, and a session that held nothing was never written."""
    session = store.get(SID)
    assert session.new and session.sid == SID and dict(session) == dict(store.new())


@pytest.mark.parametrize(
    "data, written",
    [
        ({}, False),
        ({"db": "prod", "context": {"lang": "fr_FR"}}, False),
        ({"db": "prod", "geoip": {"country_code": "BE"}, "sale_order_id": None, "uid": False}, False),
        ({"db": "prod", "sale_order_id": 0, "login": ""}, False),
        ({"db": "prod", "context": {"lang": "fr_FR", "tz": "Europe/Brussels"}}, True),
        ({"db": "prod", "sale_order_id": 7}, True),
        ({"db": "prod", "uid": 2, "login": "admin"}, True),
    ],
)
def test_a_session_never_stored_is_written_only_with_more_than_odoos_defaults(
    store, redis_client, data, written
):
    session = store.new()
    session.update(data)
    store.save(session)
    assert store.list() == ([session.sid] if written else [])
    assert redis_client.dbsize() == int(written) + bool(data.get("uid"))  # a user's index


def test_a_stored_session_emptied_again_is_still_written(store, redis_client):
    session = store.new()
    session.update(db="prod", sale_order_id=7)
    store.save(session)
    back = store.get(session.sid)
    del back["sale_order_id"]
    store.save(back)
    assert store.get(session.sid).get("sale_order_id") is None and redis_client.dbsize() == 1


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1,2]", b'"x"', b"\xff", b'{"a": {"__type__": "pickle", "value": ""}}']
)
def test_corrupt_value_gives_a_new_session_and_a_warning(store, redis_client, caplog, raw):
    redis_client.set(store.key(SID), raw)
    with caplog.at_level(logging.WARNING):
        session = store.get(SID)
    assert session.new and session.sid != SID
    assert "unreadable" in caplog.text


@pytest.mark.parametrize(
    "sid",
    [
        None,
        "",
        "A" * 40,
        "a" * 39,
        "a" * 41,
        "a" * 40 + "\n",
        "*",
        "../" + "a" * 37,
        "g" * 40,
        "a" * 20 + "*" + "a" * 19,
        "é" * 40,
        "a" * 10000,
        b"a" * 40,
    ],
)
def test_invalid_id_gives_a_new_session_without_asking_redis(redis_server, sid):
    counting = redis_server.client()
    counting.config_resetstat()
    store = RedisSessionStore(counting, OpenERPSession)
    session = store.get(sid)
    assert session.new and session.sid != sid and store.is_valid_key(session.sid)
    stats = counting.info("commandstats")
    assert "cmdstat_get" not in stats


def test_delete_removes_the_key(store, redis_client):
    session = store.new()
    session.uid = 2
    store.save(session)
    store.delete(session)
    assert redis_client.exists(store.key(session.sid)) == 0


def test_list_scans_only_its_own_prefix(redis_client):
    plain = RedisSessionStore(redis_client, OpenERPSession)
    shop = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    saved = {name: [] for name in ("plain", "shop")}
    for name, store in (("plain", plain), ("shop", shop)):
        for _ in range(3):
            session = store.new()
            session.uid = 2
            store.save(session)
            saved[name].append(session.sid)
    redis_client.set("session:not-a-session-id", b"{}")
    redis_client.set("other:" + "b" * 40, b"{}")
    assert sorted(plain.list()) == sorted(saved["plain"])
    assert sorted(shop.list()) == sorted(saved["shop"])


def test_list_never_uses_keys(redis_server):
    client = redis_server.client()
    client.config_resetstat()
    RedisSessionStore(client, OpenERPSession, prefix="a*[?]").list()
    stats = client.info("commandstats")
    assert "cmdstat_scan" in stats and "cmdstat_keys" not in stats


def test_prefix_with_glob_characters_lists_only_itself(redis_client):
    star = RedisSessionStore(redis_client, OpenERPSession, prefix="*")
    other = RedisSessionStore(redis_client, OpenERPSession, prefix="x")
    session = other.new()
    session.uid = 2
    other.save(session)
    assert star.list() == [] and other.list() == [session.sid]


def test_path_is_where_odoo_puts_interrupted_uploads(redis_client, tmp_path):
    store = RedisSessionStore(redis_client, OpenERPSession, path=str(tmp_path))
    assert store.path == str(tmp_path)


def test_redis_down_raises_http_503(tmp_path):
    server = RedisServer(str(tmp_path)).start()
    store = RedisSessionStore(server.client(), OpenERPSession)
    session = store.new()
    store.save(session)
    server.stop()
    session["changed"] = True
    for action in (
        lambda: store.get(session.sid),
        lambda: store.save(session),
        lambda: store.delete(session),
    ):
        with pytest.raises(RedisUnavailable) as error:
            action()
        assert error.value.code == 503


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sliding(redis_client, clock):
    return RedisSessionStore(
        redis_client,
        OpenERPSession,
        expiration=1000,
        expiration_anonymous=100,
        touch_interval=60,
        clock=clock,
    )


def saved(store, **data):
    session = store.new()
    session.update(data)
    store.save(session)
    return session.sid


def test_unchanged_session_is_read_with_one_command_and_not_written(sliding, redis_client):
    sid = saved(sliding, uid=2, context={"lang": "en_US"})
    commands(redis_client)
    for _ in range(5):
        session = sliding.get(sid)
        session.modified = True  # as Odoo 11 does on nearly every request
        session.context["lang"] = "en_US"
        sliding.save(session)
    assert commands(redis_client) == {"get": 5}


def test_changed_session_is_written_with_one_command(sliding, redis_client):
    sid = saved(sliding, uid=2)
    commands(redis_client)
    session = sliding.get(sid)
    session["cart"] = [1, 2]
    sliding.save(session)
    assert commands(redis_client) == {"get": 1, "set": 1}
    assert sliding.get(sid)["cart"] == [1, 2]


def test_touch_is_due_after_the_interval_and_pushes_the_ttl_back(sliding, redis_client, clock):
    sid = saved(sliding, uid=2)
    redis_client.expire(sliding.key(sid), 500)  # as if time had passed in Redis too
    clock.now += 59
    assert sliding.get(sid).modified is False
    clock.now += 1
    session = sliding.get(sid)
    assert session.modified is True
    commands(redis_client)
    sliding.save(session)
    assert commands(redis_client) == {"set": 1}
    assert redis_client.ttl(sliding.key(sid)) > 990
    assert sliding.get(sid).modified is False


def test_touch_interval_is_at_most_a_tenth_of_the_expiration(redis_client, clock):
    store = RedisSessionStore(
        redis_client, OpenERPSession, expiration=50, expiration_anonymous=50, touch_interval=60, clock=clock
    )
    sid = saved(store, uid=2)
    clock.now += 4.9
    assert store.get(sid).modified is False
    clock.now += 0.1
    assert store.get(sid).modified is True


def test_without_sliding_an_unchanged_session_is_never_rewritten(redis_client, clock):
    store = RedisSessionStore(redis_client, OpenERPSession, expiration=1000, sliding=False, clock=clock)
    sid = saved(store, uid=2)
    clock.now += 10000
    session = store.get(sid)
    assert session.modified is False
    session.modified = True
    commands(redis_client)
    store.save(session)
    assert commands(redis_client) == {}


def test_max_lifetime_caps_the_ttl_and_ends_the_session(redis_client, clock):
    store = RedisSessionStore(
        redis_client, OpenERPSession, expiration=1000, touch_interval=1, max_lifetime=300, clock=clock
    )
    sid = saved(store, uid=2)
    assert 295 <= redis_client.ttl(store.key(sid)) <= 300
    clock.now += 200
    session = store.get(sid)
    store.save(session)  # a touch: the TTL is what is left of the lifetime
    assert 95 <= redis_client.ttl(store.key(sid)) <= 100
    clock.now += 100
    again = store.get(sid)
    assert again.new and again.sid != sid
    assert redis_client.exists(store.key(sid)) == 0


def test_rotated_session_id_is_written_under_the_new_key(sliding, redis_client):
    sid = saved(sliding, uid=2)
    session = sliding.get(sid)
    sliding.delete(session)
    session.sid = sliding.generate_key()
    sliding.save(session)
    assert redis_client.exists(sliding.key(session.sid)) == 1
    assert redis_client.exists(sliding.key(sid)) == 0


def test_older_modules_prefixed_key_is_read_then_moved(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    old_key = "session::shop:" + SID
    redis_client.set(old_key, b'{"uid": 2, "login": "admin", "db": "prod"}', ex=500)
    session = store.get(SID)
    assert (session.sid, session.uid, session.login) == (SID, 2, "admin")
    assert session.modified is True  # never touched by this store: rewrite due
    store.save(session)
    assert redis_client.exists(old_key) == 0
    assert store.get(SID).login == "admin"


def test_without_prefix_the_older_module_used_the_same_key(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession)
    redis_client.set("session:" + SID, b'{"uid": 2, "login": "admin"}', ex=500)
    assert store.get(SID).login == "admin"


def test_corrupt_metadata_gives_a_new_session(store, redis_client, caplog):
    redis_client.set(store.key(SID), b'{"uid": 2, "_session_redis": {"created": "x"}}')
    assert store.get(SID).new
    assert "unreadable" in caplog.text


def test_oversized_session_is_not_saved_and_says_so(redis_client, caplog):
    store = RedisSessionStore(redis_client, OpenERPSession, max_size=2048)
    sid = saved(store, uid=2, note="small")
    session = store.get(sid)
    session["note"] = "x" * 5000
    store.save(session)
    assert "not saved" in caplog.text and "over the 2048 bytes limit" in caplog.text
    assert store.get(sid)["note"] == "small"


def test_oversized_stored_value_gives_a_new_session(redis_client, caplog):
    store = RedisSessionStore(redis_client, OpenERPSession, max_size=2048)
    redis_client.set(store.key(SID), b'{"uid": 2, "x": "%s"}' % (b"y" * 5000))
    session = store.get(SID)
    assert session.new and session.sid != SID
    assert "over the 2048 bytes limit" in caplog.text


@pytest.mark.parametrize("data", [{}, {"uid": 2}, {"a": 'x"_session_redis":{', "z": [1, {"b": None}]}])
def test_stored_bytes_are_valid_json_and_the_body_comes_back(data):
    raw = encode_with_times(data, 1.5, 2.25)
    decoded = json.loads(raw.decode())
    assert decoded.pop(META) == {"created": 1.5, "touched": 2.25}
    assert body_of(raw) == encode_session(data)
    assert body_of(b'{"uid": 2}') is None


# --- the older module's key: every end of a session removes it too ---


def older(redis_client, prefix, data=b'{"uid": 2, "login": "admin", "db": "prod"}', sid=SID):
    """A session as camptocamp's module stored it: plain JSON under its key."""
    redis_client.set(legacy_session_key(sid, prefix), data, ex=500)
    return sid


def test_delete_removes_the_older_modules_key_too(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    session = store.get(older(redis_client, "shop"))
    assert session.login == "admin"
    store.delete(session)
    assert redis_client.keys("*") == []
    assert store.get(SID).new


def test_max_lifetime_deletes_the_older_modules_key_too(redis_client, clock):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop", max_lifetime=300, clock=clock)
    data = encode_with_times({"uid": 2, "login": "admin"}, clock.now - 301, clock.now - 1)
    older(redis_client, "shop", data)
    assert store.get(SID).new
    assert redis_client.keys("*") == []


def test_a_value_without_times_is_rewritten_at_first_sight_even_without_sliding(redis_client, clock):
    store = RedisSessionStore(
        redis_client, OpenERPSession, prefix="shop", sliding=False, max_lifetime=300, clock=clock
    )
    session = store.get(older(redis_client, "shop"))
    assert session.modified is True  # so Odoo saves it: its lifetime starts now
    store.save(session)
    assert redis_client.keys("session:shop:" + SID) == [store.key(SID).encode()]
    clock.now += 301
    assert store.get(SID).new and redis_client.keys("session:*" + SID) == []
    assert store.user_sessions("prod", 2) == []


def test_list_and_scan_see_the_older_modules_keys(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    new = saved(store, uid=2)
    older(redis_client, "shop")
    older(redis_client, "other", sid="c" * 40)
    assert store.list() == sorted([new, SID])
    assert sorted(store.scan()) == sorted(
        [(new, store.key(new).encode()), (SID, legacy_session_key(SID, "shop").encode())]
    )


def test_delete_many_ends_every_key_of_each_session(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    kept, gone = saved(store, uid=2), saved(store, uid=3)
    older(redis_client, "shop")
    assert store.delete_many([gone, SID, "d" * 40]) == 2
    assert store.list() == [kept]


def test_add_many_keeps_what_is_stored_under_any_key_and_refuses_oversized(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop", max_size=2048)
    present = saved(store, uid=2, login="newer")
    older(redis_client, "shop")
    fresh = "e" * 40
    results = store.add_many(
        [
            (present, {"uid": 2, "login": "older"}),
            (SID, {"uid": 9}),
            (fresh, {"uid": 3}),
            ("f" * 40, {"x": "y" * 5000}),
        ]
    )
    assert results == [False, False, True, None]
    assert store.get(present).login == "newer" and store.get(SID).login == "admin"
    assert (
        store.get(fresh).uid == 3
        and store.logged_in_expiration() - 5
        <= redis_client.ttl(store.key(fresh))
        <= store.logged_in_expiration()
    )
    assert store.stored([present, SID, fresh, "f" * 40]) == [True, True, True, False]


def test_filesystem_only_calls_name_this_addon_and_its_documentation_section(redis_client):
    from session_redis.core.store_api import DOCS_PAGE, DOCS_SECTION, NotOfferedByRedisStore

    store = RedisSessionStore(redis_client, OpenERPSession, path="/some/folder")
    with pytest.raises(NotOfferedByRedisStore) as raised:
        store.get_session_filename("a" * 40)
    assert isinstance(raised.value, NotImplementedError)
    assert "session_redis" in str(raised.value) and DOCS_SECTION in str(raised.value)
    with open(os.path.join(REPO, DOCS_PAGE)) as handle:
        assert "\n%s\n" % DOCS_SECTION in handle.read(), "the section the error names exists"
    assert store.path == "/some/folder" and store.is_valid_key(store.generate_key())


def test_activity_record_belongs_to_the_user_who_made_it(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, expiration=1000, clock=lambda: 500.0)
    session = store.new()
    session["uid"] = 7
    assert store.last_activity(session) is None
    store.record_activity(session, keep=5000)
    assert store.last_activity(session) == 500.0
    assert 4990 <= redis_client.ttl(store.activity_key(session.sid)) <= 5001
    assert store.list() == []  # not a session
    session["uid"] = 8
    assert store.last_activity(session) is None
    redis_client.set(store.activity_key(session.sid), b"\xff garbage")
    assert store.last_activity(session) is None


def test_every_end_of_a_session_deletes_its_activity_record(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    sessions = []
    for _ in range(3):
        session = store.new()
        session.update(uid=2, db="prod")
        store.save(session)
        store.record_activity(session)
        sessions.append(session)
    store.delete(store.get(sessions[0].sid))
    store.delete_many([sessions[1].sid])
    store.end_user_sessions("prod", 2)
    assert redis_client.keys("*") == []


def test_a_session_ended_while_a_request_held_it_is_not_brought_back(redis_client):
    """A request loads a logged-in session; meanwhile it is ended elsewhere
    (a logout on another node, a revocation); when the request saves it,
    nothing is written, and its index entries do not come back either."""
    store = RedisSessionStore(redis_client, OpenERPSession)
    session = OpenERPSession({"uid": 7, "db": "shop", "login": "bob"}, SID, True)
    store.save(session)
    in_flight = store.get(SID)
    assert store.end_user_sessions("shop", 7) == 1
    in_flight["saved_action"] = 42  # the request changed it
    store.save(in_flight)
    assert redis_client.exists(store.key(SID)) == 0
    assert store.user_sessions("shop", 7) == [] and redis_client.exists(store.index_key("shop", 7)) == 0
    assert store.get(SID).new

    kept = store.get(SID)  # the code that ends a session may keep it on purpose
    kept.update(uid=7, db="shop")
    store.save(kept)
    store.delete(kept)
    store.save(kept)
    assert redis_client.exists(store.key(SID)) == 1


def test_a_session_moved_from_the_older_key_is_still_written(redis_client):
    store = RedisSessionStore(redis_client, OpenERPSession, prefix="shop")
    redis_client.set(legacy_session_key(SID, "shop"), b'{"uid": 7, "db": "shop"}')
    session = store.get(SID)
    session["x"] = 1
    store.save(session)
    assert json.loads(redis_client.get(store.key(SID)))["x"] == 1
