"""Prometheus metrics of the session store, summed over every process of a node.

Odoo in prefork mode serves requests from several worker processes (and its
longpolling process). prometheus_client's multiprocess mode has each of them
write its counts to memory-mapped files in one folder, named after the
environment variable ``PROMETHEUS_MULTIPROC_DIR``, and :func:`exposition`
reads and sums those files when ``/session_redis/metrics`` is asked for.

prometheus_client chooses that mode once, when it is first imported, from
the variable: :func:`start` sets it first, which is why this module
imports prometheus_client only inside its functions. Counting touches files
in that folder only; nothing is ever sent to Redis.

Usage, in the server's main process, before any worker forks::

    store = RedisSessionStore(client, metrics=start(base_folder, longpolling=False))
"""

import atexit
import logging
import os
import shutil
import socket
import tempfile
from typing import Mapping, Sequence, Tuple

_logger = logging.getLogger(__name__)

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: a Redis round trip on a LAN is well under a millisecond; the top
# buckets show time-outs.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LOAD_OUTCOMES = ("hit", "miss", "refused")
SAVE_OUTCOMES = ("written", "touched", "unchanged", "ended")
ACTIONS = ("load", "save", "delete")


def files_of_this_run(base: str) -> str:
    """A new, empty folder under ``base`` for the metric files of this
    server run, removed when the process that made it exits.

    A fresh folder per run, rather than one folder wiped at start: another
    Odoo process on the same data folder (an ``odoo shell``, a
    ``--stop-after-init`` upgrade) must not wipe the files that a running
    server's workers are writing. Folders of earlier runs on this host whose
    process is gone (a crash) are removed here.
    """
    os.makedirs(base, exist_ok=True)
    host = socket.gethostname()
    for name in os.listdir(base):
        owner, _, pid = name.rpartition("-")[0].rpartition("-")
        if owner == host and pid.isdigit() and _is_gone(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    folder = tempfile.mkdtemp(prefix="%s-%d-" % (host, os.getpid()), dir=base)
    atexit.register(_remove_if_mine, folder, os.getpid())
    return folder


def _is_gone(pid: int) -> bool:
    """Is process ``pid`` no longer running? Our own pid counts as gone: a
    folder with it was left by an earlier run (containers reuse pid 1)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _remove_if_mine(folder: str, pid: int) -> None:
    # Prefork workers inherit this exit handler: only the maker removes.
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def start(base: str, longpolling: bool) -> "PrometheusMetrics":
    """The store's observer for this process, counting in this node's folder
    (see :func:`folder_for`)."""
    os.environ[FOLDER_VARIABLE] = folder_for(base, longpolling, os.environ)
    if not _multiprocess_mode():
        raise RuntimeError(
            "prometheus_client was imported before session_redis could set %s: "
            "metrics cannot be summed over the workers" % FOLDER_VARIABLE
        )
    return PrometheusMetrics()


def folder_for(base: str, longpolling: bool, environ: Mapping[str, str]) -> str:
    """The folder this process counts in.

    The server's main process makes a new one (:func:`files_of_this_run`)
    and puts it in its environment, which its prefork workers (forked) and
    its longpolling process inherit. The longpolling process is a new
    program that activates the addon again (``longpolling`` true): it joins
    its parent's folder instead of making one.
    """
    inherited = environ.get(FOLDER_VARIABLE)
    return inherited if longpolling and inherited else files_of_this_run(base)


def _multiprocess_mode() -> bool:
    """Did prometheus_client choose its multiprocess mode (at its import)?"""
    from prometheus_client import values

    return getattr(values.ValueClass, "_multiprocess", False)


class PrometheusMetrics:
    """The store's observer (see :class:`session_redis.core.store.Unmetered`)
    counting into Prometheus counters and a latency histogram."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        def counter(name: str, text: str, labels: Sequence[str] = ()) -> Counter:
            return Counter("session_redis_" + name, text, labels, registry=None)

        self.loads = counter("loads", "Sessions asked for, by outcome.", ["outcome"])
        self.saves = counter("saves", "Sessions Odoo saved, by what was sent to Redis.", ["outcome"])
        self.deletes = counter("deletes", "Sessions ended (logout, rotation, lifetime over).")
        self.unavailable_count = counter("unavailable", "Requests answered 503: Redis failed.")
        self.oversize_count = counter("oversize", "Sessions refused for being over MAX_SIZE.")
        self.latency = Histogram(
            "session_redis_redis_seconds",
            "Seconds per Redis round trip of the store, by action.",
            ["action"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        # Every series exists from the start, so that a rate is never "no data".
        for outcome in LOAD_OUTCOMES:
            self.loads.labels(outcome)
        for outcome in SAVE_OUTCOMES:
            self.saves.labels(outcome)
        for action in ACTIONS:
            self.latency.labels(action)

    def load(self, outcome: str) -> None:
        self.loads.labels(outcome).inc()

    def save(self, outcome: str) -> None:
        self.saves.labels(outcome).inc()

    def delete(self) -> None:
        self.deletes.inc()

    def oversize(self) -> None:
        self.oversize_count.inc()

    def unavailable(self) -> None:
        self.unavailable_count.inc()

    def redis_call(self, action: str, seconds: float) -> None:
        self.latency.labels(action).observe(seconds)


def exposition() -> Tuple[bytes, str]:
    """``(body, content type)``: the metrics of every process of this node
    in Prometheus's text format, read from the files of the folder."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
