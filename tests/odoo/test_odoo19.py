"""Odoo 19's soft rotation over two nodes sharing Redis.

A logged-in session older than Odoo's ``SESSION_ROTATION_INTERVAL`` gets a
new id at its next request, keeping its first 42 characters (the device);
the old id keeps working for Odoo's ``SESSION_DELETION_TIMER`` (it points at
the new one), and once the new session is that old, Odoo asks the store to
end the device's other sessions. The session's age is Odoo's own
``create_time``, moved back in Redis here instead of waiting hours.
"""

import requests

from session_redis.core.codec import decode_session, encode_session
from session_redis.core.layout import META, device_index_key, session_key, times_of, with_times
from tests.support.servers import odoo_constant
from tests.support.web_client import info

SERIES = "19.0"
IDENTIFIER = 42
EXPIRED = "odoo.http.SessionExpiredException"


def age(redis, sid, seconds):
    """Move the session's ``create_time`` back by ``seconds``, keeping its
    time-to-live and the addon's framing."""
    key = session_key(sid)
    data = decode_session(redis.get(key))
    times = times_of(data.pop(META))
    data["create_time"] -= seconds
    redis.set(key, with_times(encode_session(data), *times), keepttl=True)


def members(redis, sid):
    return sorted(item.decode() for item in redis.smembers(device_index_key(sid[:IDENTIFIER])))


def test_soft_rotation_keeps_the_device_and_the_old_id_for_the_grace_period_only(
    series_nodes, redis_client, figure
):
    interval, grace = odoo_constant("SESSION_ROTATION_INTERVAL"), odoo_constant("SESSION_DELETION_TIMER")
    factory = series_nodes(SERIES)
    a, b = factory("a"), factory("b")
    old = a.login()
    age(redis_client, old, interval + 1)

    uid, new = info(b, old)  # the first request after the interval rotates, on any node
    assert uid == 2 and new and new != old
    assert new[:IDENTIFIER] == old[:IDENTIFIER], "a soft rotation keeps the device"
    left = redis_client.ttl(session_key(old))
    assert 0 < left <= grace, "the old id lives for Odoo's grace period"
    figure(
        "Odoo 19 soft rotation: the old id's key expires in %d s (Odoo's SESSION_DELETION_TIMER: %d s), "
        "the new one in %d s" % (left, grace, redis_client.ttl(session_key(new)))
    )
    assert decode_session(redis_client.get(session_key(old)))["next_sid"] == new
    assert members(redis_client, new) == sorted([old, new])

    assert info(a, old) == (2, new), "a request still holding the old cookie is moved to the new id"
    assert info(a, new)[0] == 2

    age(redis_client, new, grace + 1)  # the grace period is over
    assert info(b, new)[0] == 2
    assert redis_client.exists(session_key(old)) == 0, "the old id ends with the grace period"
    assert members(redis_client, new) == [new]
    assert info(a, old)[0] is None and info(b, new)[0] == 2

    requests.post(
        b.url + "/web/session/destroy",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        cookies={"session_id": new},
        timeout=60,
    )
    assert info(a, new)[0] is None
    assert redis_client.exists(session_key(new), device_index_key(new[:IDENTIFIER])) == 0


def test_logout_during_the_grace_period_ends_both_ids(series_nodes, redis_client):
    interval = odoo_constant("SESSION_ROTATION_INTERVAL")
    factory = series_nodes(SERIES)
    a, b = factory("a"), factory("b")
    old = a.login()
    age(redis_client, old, interval + 1)
    _uid, new = info(b, old)
    assert new != old and redis_client.exists(session_key(old), session_key(new)) == 2

    requests.post(
        a.url + "/web/session/destroy",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        cookies={"session_id": new},
        timeout=60,
    )
    # Odoo's own store deletes only the current id: the old one, still in
    # its grace period, would log the browser in again; here both end
    assert info(a, new)[0] is None and info(b, old)[0] is None
    assert redis_client.exists(session_key(new), session_key(old)) == 0
