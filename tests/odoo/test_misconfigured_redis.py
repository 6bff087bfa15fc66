"""A Redis that evicts keys or refuses writes, each a redis-server of the
test's own: what the start-up, the health probe, the store and an Odoo 18
node do with it.

- An evicting ``maxmemory-policy`` stops the node at start, naming the
  policy and the setting that accepts it; accepted, the probe warns and
  every save heals an evicted index, so that revocation finds the session.
- A full Redis under ``noeviction`` (``OOM``), a read-only replica
  (``READONLY``) and failing snapshots (``MISCONF``) make the probe answer
  503 naming the reason and what to change; it used to answer 200 while
  every login failed. Freed, the node is ready again without a restart.
"""

import json

import pytest
import requests
from odoo.http import OpenERPSession

from session_redis.core import server_checks
from session_redis.core.probes import Probes
from session_redis.core.store import RedisSessionStore
from tests.support.servers import NodeFactory, ProcessExited, RedisServer, wait_until
from tests.support.stores import Clock

HEALTH = "/session_redis/health"
SERIES = "18.0"  # the Odoo tests' series, for the grouping under xdist (conftest)


@pytest.fixture
def own_redis(tmp_path):
    """``own_redis(*args)``: a redis-server started with those arguments;
    all stopped at the end."""
    started = []

    def start(*args):
        server = RedisServer(str(tmp_path / ("redis-%d" % len(started))), extra_args=list(args)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def health(probes):
    response = probes.health()
    return response.status_code, json.loads(response.get_data())


def fill_up(client):
    """Make Redis full: a limit below what it already holds (under
    noeviction every write that may add data is then refused), as a Redis
    that its data outgrew."""
    client.config_set("maxmemory", client.info("memory")["used_memory"] // 2)


# --- the probe and the store, on real servers -----------------------------------


@pytest.mark.parametrize(
    "policy", ["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-ttl", "allkeys-random"]
)
def test_every_evicting_policy_is_told_from_noeviction(own_redis, policy):
    server = own_redis("--maxmemory", "100mb", "--maxmemory-policy", policy)
    assert server_checks.eviction_policy(server.client()) == policy
    code, body = health(Probes(server.client(), prefix="shop"))
    assert code == 200 and policy in body["warning"]
    server.client().config_set("maxmemory-policy", "noeviction")
    assert server_checks.eviction_policy(server.client()) is None
    server.client().config_set("maxmemory-policy", policy)
    server.client().config_set("maxmemory", "0")  # no limit: nothing is ever evicted
    assert server_checks.eviction_policy(server.client()) is None
    assert "warning" not in health(Probes(server.client()))[1]


def test_a_full_redis_makes_the_probe_unready_naming_why_until_it_is_freed(own_redis):
    server = own_redis("--maxmemory-policy", "noeviction")
    client = server.client()
    probes = Probes(client, prefix="shop")
    assert health(probes)[0] == 200
    fill_up(client)
    assert client.ping()  # what the probe sent before: Redis still answers
    code, body = health(probes)
    assert code == 503 and body["redis"] == "refuses writes"
    assert body["reason"].startswith("OutOfMemoryError") and "raise maxmemory" in body["advice"]
    client.config_set("maxmemory", 0)  # what the advice says: raise maxmemory
    code, body = health(probes)
    assert code == 200 and body["redis"] == "reachable"
    assert client.dbsize() == 0  # the probe wrote nothing


def test_a_read_only_replica_makes_the_probe_unready(own_redis):
    primary = own_redis()
    replica = own_redis("--replicaof", "127.0.0.1", str(primary.port))
    code, body = health(Probes(replica.client()))
    assert code == 503 and body["reason"].startswith("ReadOnlyError") and "primary" in body["advice"]
    assert health(Probes(primary.client()))[0] == 200


def test_failing_snapshots_make_the_probe_unready(own_redis, tmp_path):
    server = own_redis("--save", "3600 1", "--enable-protected-configs", "yes")
    client = server.client()
    client.config_set("dir", "/proc")  # the snapshot cannot be written there
    client.bgsave()
    wait_until(lambda: client.info("persistence")["rdb_last_bgsave_status"] == "err", 10, "a failed snapshot")
    code, body = health(Probes(client))
    assert code == 503 and "MISCONF" in body["reason"] and "snapshot" in body["advice"]
    client.config_set("dir", str(tmp_path))
    client.bgsave()
    wait_until(lambda: health(Probes(client))[0] == 200, 10, "the probe ready again")


def test_with_eviction_accepted_a_save_heals_an_evicted_index_and_revocation_finds_the_session(redis_client):
    clock = Clock()
    store = RedisSessionStore(
        redis_client, OpenERPSession, expiration=1000, touch_interval=60, allow_eviction=True, clock=clock
    )
    session = store.new()
    session.update(uid=2, db="shop")
    store.save(session)
    index = store.index_key("shop", 2)
    redis_client.delete(index)  # as an eviction of the least recently used key would
    clock.now += 61  # the session's next request is due a touch
    store.save(store.get(session.sid))
    assert redis_client.smembers(index) == {session.sid.encode()}
    assert store.end_user_sessions("shop", 2) == 1
    assert store.get(session.sid).get("uid") is None


# --- an Odoo 18 node ----------------------------------------------------------------


def test_an_evicting_redis_stops_the_node_unless_allowed(own_redis, series_database, tmp_path):
    server = own_redis("--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru")
    factory = NodeFactory(series_database("18.0"), server, str(tmp_path), series="18.0")
    refused = factory("refused", start=False)
    with pytest.raises(ProcessExited):
        refused.start()
    assert "maxmemory-policy allkeys-lru" in refused.log()
    assert "ODOO_SESSION_REDIS_ALLOW_EVICTION=1" in refused.log()
    try:
        allowed = factory("allowed", env={"ODOO_SESSION_REDIS_ALLOW_EVICTION": "1"})
        body = requests.get(allowed.url + HEALTH, timeout=10).json()
        assert body["redis"] == "reachable" and "allkeys-lru" in body["warning"]
        assert allowed.session_info(allowed.login())["uid"] == 2
    finally:
        factory.stop_all()


def test_a_full_redis_refuses_logins_with_503_and_the_log_says_what_to_change(
    own_redis, series_database, tmp_path
):
    server = own_redis("--maxmemory-policy", "noeviction")
    client = server.client()
    factory = NodeFactory(series_database("18.0"), server, str(tmp_path), series="18.0")
    try:
        node = factory("a")
        sid = node.login()
        assert node.session_info(sid)["uid"] == 2
        fill_up(client)
        logout = requests.get(node.url + "/web/session/logout", cookies={"session_id": sid}, timeout=30)
        login = node.json(
            "/web/session/authenticate", {"db": node.database, "login": "admin", "password": "admin"}
        )
        assert login.status_code == 503
        assert requests.get(node.url + HEALTH, timeout=10).status_code == 503
        assert "raise maxmemory" in node.log()
        client.config_set("maxmemory", 0)  # what the log says: raise maxmemory
        assert requests.get(node.url + HEALTH, timeout=10).status_code == 200
        # the logout deleted the session (DEL is not refused when full), then
        # failed to store the new anonymous one: its 503 says the user is out
        assert logout.status_code == 503 and "You are logged out" in logout.text
        assert node.session_info(sid) is None
        assert node.session_info(node.login())["uid"] == 2
    finally:
        factory.stop_all()
