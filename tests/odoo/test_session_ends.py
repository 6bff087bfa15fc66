"""Every way a session ends removes every key it may live under, through
real Odoo 11 nodes: the documented key and, with a prefix, the key the
older camptocamp module wrote (``session::<prefix>:<sid>``), which the store
still reads so that nobody is logged out by the switch.

Without a prefix both modules used the same key: those runs check that the
ways still end the session; with a prefix they check the older key too.
"""

import json
import time

import pytest

from session_redis.core.layout import META, legacy_session_key, session_key
from tests.support.web_client import authenticate_with, planted_session

PREFIXES = ["", "shop"]


def keys_of(redis_client, sid):
    """Every key in Redis that names session ``sid``, whatever its form."""
    return sorted(key.decode() for key in redis_client.scan_iter(match="session:*%s" % sid))


def as_older_module_wrote_it(redis_client, sid, prefix, keep_times=True):
    """Move the session to the key the older module used; ``keep_times=False``
    also drops this addon's timestamps, as the older module stored it."""
    raw = redis_client.get(session_key(sid, prefix))
    if not keep_times:
        data = json.loads(raw)
        del data[META]
        raw = json.dumps(data)
    redis_client.delete(session_key(sid, prefix))
    key = legacy_session_key(sid, prefix) if prefix else session_key(sid)
    redis_client.set(key, raw, ex=3600)
    return key


def nodes_with(odoo_nodes, prefix, **settings):
    env = {"ODOO_SESSION_REDIS_PREFIX": prefix}
    env.update(("ODOO_SESSION_REDIS_" + name.upper(), value) for name, value in settings.items())
    return odoo_nodes("a", env=env), odoo_nodes("b", env=env)


def wait_for_logout(node, sid, seconds):
    deadline = time.monotonic() + seconds
    while node.session_info(sid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


@pytest.mark.parametrize("prefix", PREFIXES)
def test_logout_of_a_session_under_the_older_key_ends_it(odoo_nodes, redis_client, prefix):
    a, b = nodes_with(odoo_nodes, prefix)
    sid = a.login()
    as_older_module_wrote_it(redis_client, sid, prefix)
    assert b.session_info(sid)["username"] == "admin"  # nobody logged out by the switch

    b.json("/web/session/destroy", session_id=sid)
    assert a.session_info(sid) is None and b.session_info(sid) is None
    assert keys_of(redis_client, sid) == []


@pytest.mark.parametrize("prefix", PREFIXES)
def test_rotation_on_login_leaves_no_key_of_the_planted_id(odoo_nodes, redis_client, prefix):
    a, b = nodes_with(odoo_nodes, prefix, rotate_on_login="1")
    planted = planted_session(a)
    as_older_module_wrote_it(redis_client, planted, prefix)
    fresh = authenticate_with(b, planted)
    assert fresh != planted
    assert keys_of(redis_client, planted) == []
    assert a.session_info(planted) is None and a.session_info(fresh)["username"] == "admin"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_max_lifetime_ends_a_session_under_the_older_key_and_deletes_it(odoo_nodes, redis_client, prefix):
    a, b = nodes_with(odoo_nodes, prefix, max_lifetime="3")
    sid = a.login()
    as_older_module_wrote_it(redis_client, sid, prefix)
    assert wait_for_logout(b, sid, seconds=15), "still logged in long after MAX_LIFETIME"
    assert keys_of(redis_client, sid) == []
    assert a.session_info(sid) is None


@pytest.mark.parametrize("prefix", PREFIXES)
def test_max_lifetime_counts_from_first_sight_for_a_value_without_times(odoo_nodes, redis_client, prefix):
    """The older module stored no creation time: the lifetime starts when
    this addon first reads the session, and is recorded then, so that it
    ends even without sliding expiry (which would rewrite it anyway)."""
    a, b = nodes_with(odoo_nodes, prefix, max_lifetime="3", sliding="0")
    sid = a.login()
    as_older_module_wrote_it(redis_client, sid, prefix, keep_times=False)
    assert b.session_info(sid)["username"] == "admin"
    assert wait_for_logout(a, sid, seconds=15), "a session without times never ended"
    assert keys_of(redis_client, sid) == []
