"""What the browser flows of every generation share (tests/support/flows_odoo11.py,
flows_odoo16.py): a site's nodes behind nginx, started and stopped together,
and how a flow's outcome is read."""

import concurrent.futures
import contextlib
import os
import socket

from tests.support.lb import Balancer
from tests.support.servers import REPO, OdooNode

DONE = "done"


def two_nodes(database, folder, settings, **options):
    """Prefork nodes ``a`` and ``b`` (2 workers and the real-time process
    each) on ``database`` and its filestore, in ``--proxy-mode``, not started."""
    return [
        OdooNode(
            database.name,
            str(folder / name),
            settings,
            filestore=database.filestore,
            extra_args=["--proxy-mode"],
            workers=2,
            **options,
        )
        for name in ("a", "b")
    ]


def distinct_ports(nodes):
    """Give the nodes their HTTP and gevent ports, all different: picked one
    at a time by nodes starting side by side, a port freed for one could be
    handed to the other."""
    held = []
    try:
        for _ in range(2 * len(nodes)):
            held.append(socket.socket())
            held[-1].bind(("127.0.0.1", 0))
        ports = [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()
    for node in nodes:
        node.port, node.longpolling_port = ports.pop(), ports.pop()


@contextlib.contextmanager
def balanced(nodes, folder):
    """Start ``nodes`` side by side and nginx over them (``folder/nginx``);
    yield the balancer; stop them all at the end, however it ends."""
    balancer = None
    distinct_ports(nodes)
    try:
        with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
            for future in [pool.submit(node.start, 120) for node in nodes]:
                future.result()
        balancer = Balancer.over(str(folder / "nginx"), nodes).start()
        yield balancer
    finally:
        if balancer:
            balancer.stop()
        with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(lambda node: node.stop(), nodes))


def screenshot(driver, flow, site):
    """``artifacts/<series>-<flow>-addon-<on|off>.png``."""
    folder = os.path.join(REPO, "artifacts")
    os.makedirs(folder, exist_ok=True)
    name = "%s-%s-addon-%s.png" % (site.series_name, flow, "on" if site.addon else "off")
    assert driver.save_screenshot(os.path.join(folder, name))


def check(site, outcome, failures, driver, flow):
    """With the addon the flow is done; without, it stops at one of
    ``failures`` (a prefix, or a tuple of them). A flow that did not finish
    leaves a screenshot of where it stopped (``driver``: the browser to take
    it from, if the test has not)."""
    if outcome != DONE and driver:
        screenshot(driver, flow, site)
    print("%s: %s" % (site.mode, outcome))
    if site.addon:
        assert outcome == DONE
    else:
        assert outcome.startswith(failures), outcome
