"""A Sentinel failover during steady logged-in traffic: no session that
reached the replica is lost, and requests succeed again once it is over."""

import threading
import time

from tests.support.servers import wait_until
from tests.support.topologies import SentinelSet, running

SESSIONS = 5


def test_forced_failover_loses_no_replicated_session(odoo_nodes, tmp_path, figure):
    with running(SentinelSet(str(tmp_path / "sentinel"), sentinels=1)) as topology:
        node = odoo_nodes(
            env={
                "ODOO_SESSION_REDIS_URL": "",
                "ODOO_SESSION_REDIS_SENTINEL_HOST": topology.hosts,
                "ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME": topology.name,
                "ODOO_SESSION_REDIS_SOCKET_TIMEOUT": "1",
            }
        )
        sids = [node.login() for _ in range(SESSIONS)]
        replica = topology.replica.client()
        wait_until(
            lambda: all(replica.exists("session:" + sid) for sid in sids), 10, "sessions on the replica"
        )

        outcomes = []  # (time, ok)
        stop = threading.Event()

        def traffic():
            number = 0
            while not stop.is_set():
                sid = sids[number % SESSIONS]
                number += 1
                try:
                    response = node.json("/web/session/get_session_info", session_id=sid)
                    ok = response.status_code == 200 and "result" in response.json()
                except Exception:
                    ok = False
                outcomes.append((time.monotonic(), ok))
                time.sleep(0.02)

        worker = threading.Thread(target=traffic)
        worker.start()
        try:
            time.sleep(2)
            switched_at = time.monotonic()
            topology.sentinels[0].client().sentinel_failover(topology.name)
            new_master = (b"127.0.0.1", topology.replica.port)
            wait_until(
                lambda: tuple(topology.sentinels[0].client().sentinel_get_master_addr_by_name(topology.name))
                == new_master,
                30,
                "the replica promoted",
            )
            time.sleep(1.5)  # the node's pool looks the master up once a second
            fresh = node.login()  # written before Sentinel demotes the old master
            promoted_at = time.monotonic()
            wait_until(
                lambda: topology.master.client().info("replication")["role"] == "slave",
                60,
                "the old master demoted",
            )
            split_brain = time.monotonic() - promoted_at
            time.sleep(1)
        finally:
            stop.set()
            worker.join(30)

        errors = [at for at, ok in outcomes if not ok]
        recovered = (max(errors) - switched_at) if errors else 0.0
        lost = [sid for sid in sids + [fresh] if node.session_info(sid) is None]
        after = [ok for at, ok in outcomes if at > switched_at + max(recovered, 0) + 0.5]
        figure(
            "failover: %d requests, %d errors during the switch, %.2f s to recover, "
            "%d of %d sessions lost (one logged in after the promotion); the old master took %.1f s "
            "more to become a replica"
            % (len(outcomes), len(errors), max(recovered, 0), len(lost), SESSIONS + 1, split_brain)
        )
        assert lost == []
        assert after and all(after)
        # writes go to the promoted master now
        assert topology.replica.client().info("replication")["role"] == "master"
        assert topology.replica.client().exists("session:" + fresh) == 1
