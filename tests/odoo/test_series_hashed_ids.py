"""Hashed ids at rest through Odoo 11, 18 and 19 nodes sharing Redis.

A site switches ``ODOO_SESSION_REDIS_HASH_IDS`` on: a browser logged in
before keeps its session (moved to its hashed key at its first request),
new logins and, on 19, a soft rotation work across nodes; then a copy of
everything in Redis holds no session id, device identifier or next id, and
no string in it logs anybody in when presented as a session cookie. The
same copy taken before the switch holds the id: the check can fail.
"""

import hashlib
import re

import pytest
import requests

from session_redis.core.codec import decode_session, encode_session
from session_redis.core.layout import META, session_key, times_of, with_times
from tests.support.servers import odoo_constant
from tests.support.stores import dump
from tests.support.web_client import info

# A prefix of the test's own: nodes of earlier tests may still write to the
# same private Redis, and only this site's keys are copied.
PREFIX = "hashed_site"
PLAIN = {"ODOO_SESSION_REDIS_PREFIX": PREFIX}
HASHING = dict(PLAIN, ODOO_SESSION_REDIS_HASH_IDS="1")
MATCH = "session:%s:*" % PREFIX


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# Every glue, and 19's soft rotation: the conftest's nodes fixture, widened.
SERIES_OF_NODES = ["11.0", "18.0", "19.0"]


def age(redis, key, seconds):
    """Move the session's ``create_time`` back by ``seconds`` (Odoo 19's
    soft rotation counts from it)."""
    data = decode_session(redis.get(key))
    times = times_of(data.pop(META))
    data["create_time"] -= seconds
    redis.set(key, with_times(encode_session(data), *times), keepttl=True)


@pytest.mark.parametrize("nodes", SERIES_OF_NODES, indirect=True)
def test_switching_hashing_on_logs_nobody_out_and_a_copy_of_redis_then_logs_nobody_in(nodes, redis_client):
    plain = nodes("plain", env=PLAIN)  # hashing off: the site before the switch
    before = plain.login()
    admin = plain.session_info(before)["uid"]
    assert before in dump(redis_client, MATCH), "the control: without hashing, Redis holds the id"

    a, b = nodes("a", env=HASHING), nodes("b", env=HASHING)
    assert b.session_info(before)["uid"] == admin, "switching hashing on logged a user out"
    assert redis_client.exists(session_key(before, PREFIX)) == 0, "not moved at its first request"
    assert redis_client.exists(session_key(sha(before), PREFIX)) == 1

    sid = a.login()
    ids = [before, sid]
    assert b.session_info(sid)["uid"] == admin and a.session_info(before)["uid"] == admin
    if a.series == "19.0":  # a soft rotation leaves the new id in the old session
        age(redis_client, session_key(sha(sid), PREFIX), odoo_constant("SESSION_ROTATION_INTERVAL") + 1)
        uid, rotated = info(b, sid)
        assert uid == admin and rotated not in (None, sid) and rotated[:42] == sid[:42]
        assert "next_sid" in decode_session(redis_client.get(session_key(sha(sid), PREFIX)))
        assert info(a, sid) == (admin, rotated), "the old id no longer leads to the new one"
        ids.append(rotated)

    copied = dump(redis_client, MATCH)
    for each in ids:
        assert each not in copied and each[:42] not in copied and each[-40:] not in copied, each
    presented = set(re.findall(r"[A-Za-z0-9_-]{40,}", copied))
    assert presented, "the copy holds the hashes"
    assert [token for token in presented if b.session_info(token)] == [], "a string in Redis logged in"
    assert a.session_info(ids[-1])["uid"] == admin

    requests.post(
        a.url + "/web/session/destroy",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        cookies={"session_id": ids[-1]},
        timeout=60,
    )
    assert b.session_info(ids[-1]) is None and b.session_info(sid) is None
    assert redis_client.exists(*[session_key(sha(each), PREFIX) for each in ids[1:]]) == 0
