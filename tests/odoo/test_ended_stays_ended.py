"""A session ended while one of its requests is in flight stays ended.

The request's headers reach node A, which loads the session; its body is
held back; the session ends on node B (a logout, a device revoked, the
operator's revoke); then the body is sent and A finishes the request,
writing what it loaded. A store that simply writes would bring the
session back, logged in. Every way a request writes a session is held
so: the plain save (Odoo 11 and 18), Odoo 19's soft rotation (the old id
pointing at a new one), the move to the hashed key after hashing was
switched on (16+), and the move from camptocamp's older keys (11).
"""

import subprocess

import pytest
from werkzeug.contrib.sessions import Session

from session_redis.core.codec import decode_session, encode_session
from session_redis.core.layout import META, hashed_id, legacy_session_key, session_key, times_of, with_times
from tests.support.servers import LAUNCHER, REPO
from tests.support.stores import DeviceStore
from tests.support.web_client import CHROME, FIREFOX, Browser, devices, held_request


def test_a_request_in_flight_does_not_bring_back_a_logged_out_session(nodes, redis_client):
    a, b = nodes("a"), nodes("b")
    sid = a.login()
    if a.series == "11.0":  # a route that changes the session
        finish = held_request(a, "/web/session/save_session_action", sid, {"the_action": {"type": "x"}})
    else:  # the first request after a login records the device in the session
        finish = held_request(a, "/web/session/get_session_info", sid, {})
    assert b.json("/web/session/destroy", session_id=sid).status_code == 200
    assert redis_client.exists(session_key(sid)) == 0
    status, _cookie = finish()  # the in-flight request completes on node A and saves
    assert " 200 " in status + " ", status
    assert redis_client.exists(session_key(sid)) == 0, "the logged-out session came back"
    assert a.session_info(sid) is None and b.session_info(sid) is None


# --- the other write paths: each must leave no key of the ended session ---


def traces(client, *texts):
    """Every key whose name holds one of ``texts`` (ids, device identifiers)
    in either form, and every index that still lists one: what would let
    the session, or a successor of it, back in."""
    forms = [form for text in texts for form in (text, hashed_id(text))]
    found = set()
    for key in client.scan_iter(match="session:*"):
        name = key.decode()
        if any(form in name for form in forms):
            found.add(name)
        elif client.type(key) == b"set":
            listed = {member.decode() for member in client.smembers(key)}
            found.update("%s lists %s" % (name, form) for form in forms if form in listed)
    return sorted(found)


def age(redis, key, seconds):
    """Move the stored session's Odoo ``create_time`` back by ``seconds``,
    keeping its time-to-live and the addon's framing."""
    data = decode_session(redis.get(key))
    times = times_of(data.pop(META))
    data["create_time"] -= seconds
    redis.set(key, with_times(encode_session(data), *times), keepttl=True)


def rotation_interval():
    """Odoo 19's ``SESSION_ROTATION_INTERVAL``, read from the installed Odoo."""
    import glob
    import re

    found = glob.glob(REPO + "/.venv-19.0/lib/python3*/site-packages/odoo/http.py")
    if not found:
        pytest.skip("Odoo 19.0 not installed: run tools/bootstrap-series 19.0")
    with open(found[0]) as handle:
        factors = re.search(r"^SESSION_ROTATION_INTERVAL = ([\d *]+)$", handle.read(), re.M).group(1)
    product = 1
    for factor in factors.split("*"):
        product *= int(factor)
    return product


def end_on(node, how, victim, other):
    """End ``victim``'s session on ``node``: its own logout, or the device
    list's "Revoke" pressed in ``other`` (a browser of the same user)."""
    if how == "logout":
        assert victim.call(node, "/web/session/destroy") is not None
    else:
        listed = devices(other, node, [victim.sid[:42]])
        assert other.confirmed_button(node, "res.device", "revoke", list(listed.values())) is False
    assert not victim.logged_in(node, victim.sid)


@pytest.mark.parametrize(
    "how, hashing", [("logout", False), ("revoke", False), ("logout", True), ("revoke", True)]
)
def test_a_soft_rotation_in_flight_does_not_bring_back_an_ended_session(
    how, hashing, series_nodes, redis_client
):
    """Odoo 19 rotates a logged-in session older than its rotation interval
    at its next request: the old id then points at a new one of the same
    device. Held across the session's end, that request must not write
    the new one (nor the old one back)."""
    interval = rotation_interval()
    env = {"ODOO_SESSION_REDIS_HASH_IDS": "1"} if hashing else {}
    factory = series_nodes("19.0")
    a, b = factory("a", env=env), factory("b", env=env)
    victim, other = Browser(FIREFOX).login(a), Browser(CHROME).login(b)
    assert victim.logged_in(a) and other.logged_in(b)  # each device is recorded
    sid = victim.sid
    age(redis_client, session_key(hashed_id(sid) if hashing else sid), interval + 60)
    finish = held_request(a, "/web/session/get_session_info", sid)
    end_on(b, how, victim, other)
    status, cookie = finish()
    assert " 200 " in status + " ", status
    assert traces(redis_client, sid, sid[:42]) == [], "the ended session or a successor came back"
    for node in (a, b):
        assert node.session_info(sid) is None
        assert cookie is None or node.session_info(cookie) is None, "the rotated id is logged in"
    assert other.logged_in(a) and other.logged_in(b)


@pytest.mark.parametrize("how", ["logout", "revoke"])
def test_a_move_to_the_hashed_key_in_flight_does_not_bring_back_an_ended_session(
    how, series_nodes, redis_client
):
    """Hashing switched on: a session still under its plain key moves to its
    hashed key at its next request. Held across the session's end, that
    request must not write it under the hashed key."""
    factory = series_nodes("18.0")
    plain = factory("plain")
    victim, other = Browser(FIREFOX).login(plain), Browser(CHROME).login(plain)
    assert victim.logged_in(plain) and other.logged_in(plain)
    sid = victim.sid
    assert redis_client.exists(session_key(sid))
    plain.stop()
    hashing = {"ODOO_SESSION_REDIS_HASH_IDS": "1"}
    a, b = factory("a", env=hashing), factory("b", env=hashing)
    finish = held_request(a, "/web/session/get_session_info", sid)
    end_on(b, how, victim, other)
    status, _cookie = finish()
    assert " 200 " in status + " ", status
    assert traces(redis_client, sid, sid[:42]) == [], "the ended session came back"
    for node in (a, b):
        assert node.session_info(sid) is None
    assert other.logged_in(a) and other.logged_in(b)


@pytest.mark.parametrize("how", ["logout", "operator revoke"])
def test_a_move_from_the_older_module_key_in_flight_does_not_bring_back_an_ended_session(
    how, odoo_nodes, redis_client
):
    """A prefixed site that ran camptocamp's older module: a session under
    its old key moves to this addon's at its next request. Held across the
    session's end (a logout, or ``session_redis revoke --login --scan``,
    which finds the sessions no index lists), that request must not write
    it under the new key."""
    prefixed = {"ODOO_SESSION_REDIS_PREFIX": "old"}
    a, b = odoo_nodes("a", env=prefixed), odoo_nodes("b", env=prefixed)
    sid = a.login()
    redis_client.rename(session_key(sid, "old"), legacy_session_key(sid, "old"))
    finish = held_request(a, "/web/session/get_session_info", sid)
    if how == "logout":
        assert b.json("/web/session/destroy", session_id=sid).status_code == 200
    else:
        command = [LAUNCHER, "--addons-path=" + REPO, "session_redis", "revoke", "--login", "admin"]
        done = subprocess.run(
            command + ["--db", a.database, "--scan"],
            env=b.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=120,
        )
        assert done.returncode == 0 and "revoked 1 session " in done.stdout, done.stdout
    assert redis_client.exists(legacy_session_key(sid, "old")) == 0
    status, _cookie = finish()
    assert " 200 " in status + " ", status
    assert traces(redis_client, sid) == [], "the ended session came back"
    assert a.session_info(sid) is None and b.session_info(sid) is None


# --- every point between a write's round trips, in this process ---


class Pausing(object):
    r"""A real redis-py client that, once :meth:`arm`\ ed, runs ``between()``
    right after its ``after``-th round trip from then on (0: at once): the
    other node acting at that exact point of a request's write."""

    def __init__(self, client):
        self._client = client
        self._left = None
        self._between = None

    def arm(self, after, between):
        self._left, self._between = after, between
        if after == 0:
            self._fire()

    def finish(self):
        """Run ``between()`` now if the write made fewer round trips than
        ``after`` (before Redis 7.0 the store asks fewer): the other node
        then acts after the write's last one."""
        self._fire()

    def _fire(self):
        between, self._between = self._between, None
        if between:
            between()

    def _counted(self, result):
        if self._left is not None:
            self._left -= 1
            if self._left == 0:
                self._fire()
        return result

    def execute_command(self, *args, **options):
        return self._counted(self._client.execute_command(*args, **options))

    def pipeline(self, transaction=True):
        pipe = self._client.pipeline(transaction=transaction)
        execute = pipe.execute
        pipe.execute = lambda *args, **kwargs: self._counted(execute(*args, **kwargs))
        return pipe

    def __getattr__(self, name):
        command = getattr(self._client, name)
        return lambda *args, **kwargs: self._counted(command(*args, **kwargs))


def device_sessions(redis_client, hashing=False):
    """A store with Odoo 18's ids on this Redis, and a logged-in session."""
    store = DeviceStore(redis_client, Session, expiration=1000, hash_ids=hashing)
    session = store.new()
    session.update(uid=2, db="prod", login="admin")
    store.save(session)
    return store, session.sid


ENDS = {
    "logout": lambda store, sid: store.delete(store.get(sid)),
    "device revoked": lambda store, sid: store.end_identifiers([sid[:42]]),
    "all devices": lambda store, sid: store.end_user_sessions("prod", 2),
}


# The round trips a write may make after its request read the session.
PAUSES = [0, 1, 2, 3]


@pytest.mark.parametrize("end", sorted(ENDS))
@pytest.mark.parametrize("pause_after", PAUSES)
def test_a_soft_rotation_interleaved_with_an_end_leaves_nothing(redis_client, end, pause_after):
    """Odoo 19's soft rotation writes the new id, then the old one
    pointing at it: wherever the session ends after the request read it
    (on the other node), neither is left, nor any index entry."""
    store, sid = device_sessions(redis_client)
    client = Pausing(redis_client)
    writer = DeviceStore(client, Session, expiration=1000)
    session = writer.get(sid)
    client.arm(pause_after, lambda: ENDS[end](store, sid))
    old = dict(session, next_sid=sid[:42] + writer.generate_key()[42:], deletion_time=1)
    predecessor = writer.predecessor(session, old)
    session.sid = old["next_sid"]
    session["gc_previous_sessions"] = True
    writer.save(session, predecessor)
    client.finish()
    assert traces(redis_client, sid, session.sid, sid[:42]) == []


@pytest.mark.parametrize("end", sorted(ENDS))
@pytest.mark.parametrize("pause_after", PAUSES)
def test_a_move_to_the_hashed_key_interleaved_with_an_end_leaves_nothing(redis_client, end, pause_after):
    """Hashing switched on: a session read from its plain key is written
    under its hashed one, then the plain one is deleted: wherever the
    session ends after the request read it, no key of it is left."""
    plain, sid = device_sessions(redis_client)
    hashing = DeviceStore(redis_client, Session, expiration=1000, hash_ids=True)
    client = Pausing(redis_client)
    writer = DeviceStore(client, Session, expiration=1000, hash_ids=True)
    session = writer.get(sid)
    client.arm(pause_after, lambda: ENDS[end](hashing, sid))
    session["changed"] = True
    writer.save(session)
    client.finish()
    left = traces(redis_client, sid, sid[:42])
    if end == "all devices":  # the user index names it by hash, which names no device:
        left = [key for key in left if not key.startswith("session:device:")]  # an entry of a gone key
    assert left == []
    assert plain.get(sid).get("uid") is None


def test_concurrent_moves_of_one_session_keep_it(redis_client):
    """Two requests of one session both read it from its plain key: the
    second one to write finds it moved, and writes with XX: nobody is
    logged out, and nothing is left under the plain key."""
    _plain, sid = device_sessions(redis_client)
    hashing = DeviceStore(redis_client, Session, expiration=1000, hash_ids=True)
    first, second = hashing.get(sid), hashing.get(sid)
    first["one"] = 1
    second["two"] = 2
    hashing.save(first)
    hashing.save(second)
    assert hashing.get(sid)["two"] == 2
    assert redis_client.exists(session_key(sid)) == 0 and redis_client.exists(session_key(hashed_id(sid)))
