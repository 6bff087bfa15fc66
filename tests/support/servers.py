"""Real servers for the tests: a private redis-server and Odoo nodes (Odoo 11
by default, or a newer series from its ``.venv-<series>``).

Each runs as its own process on a free loopback port, in a temporary
folder, and is stopped by the test that started it. The machine's shared
Redis is never touched.
"""

import collections
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import redis
import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(REPO, "bin", "odoo")
# addons only the tests install (tests/odoo_addons/README.rst)
TEST_ADDONS = os.path.join(REPO, "tests", "odoo_addons")

# The newer Odoo series the harness runs (tools/bootstrap-series builds each
# one's .venv-<series>); tests parametrize over them.
SERIES = ("16.0", "17.0", "18.0", "19.0")


def launcher(series="11.0"):
    """The Odoo launcher of a series: bin/odoo (Odoo 11, .venv) or the
    ``bin/odoo`` that pip installed into ``.venv-<series>``."""
    if series == "11.0":
        return LAUNCHER
    return os.path.join(REPO, ".venv-%s" % series, "bin", "odoo")


def series_installed(series):
    return os.access(launcher(series), os.X_OK)


# Ports for the servers the tests start: below the kernel's ephemeral range
# (32768 and up), where neither outgoing connections nor a bind to port 0
# take them, and a block of its own for each xdist worker (gw0, gw1...), so
# that a port picked by one is never handed to the other before its server
# binds it. Each worker walks its block; a port in use is passed over.
# Nodes started side by side pick theirs from threads: one walk, under a lock.
# Four blocks (10000-31999): up to four workers, as ``make test`` runs.
PORT_BLOCK = 5500
_last_port = [0]
_port_lock = threading.Lock()


def free_port():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    first = 10000 + (index % 4) * PORT_BLOCK
    with _port_lock:
        for _attempt in range(PORT_BLOCK):
            _last_port[0] = first + (_last_port[0] + 1 - first) % PORT_BLOCK
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", _last_port[0]))
                except OSError:
                    continue
                return _last_port[0]
    raise RuntimeError("no free port in %d-%d" % (first, first + PORT_BLOCK - 1))


class ProcessExited(RuntimeError):
    """A server exited while it was awaited: :func:`wait_until` stops at once."""


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except ProcessExited:
            raise
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("%s did not happen within %ss" % (what, timeout))
        time.sleep(0.1)


# The server binary the tests start: Debian's redis-server, or another
# (tests/deployment/test_redis_servers.py runs the store's tests on each of
# .tools/redis-servers/, which tools/bootstrap-redis-servers installs).
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER") or "redis-server"


class RedisServer(object):
    """A redis-server of our own, without persistence.

    :param config_file: a config file to start from (a sentinel's, say).
    :param password: the ``requirepass`` it is started with, if any.
    :param username: an ACL user the config file defines; ``password`` is
        then that user's, for :meth:`client`, and no ``requirepass`` is set.
    :param binary: the server program (default :data:`REDIS_SERVER`).
    """

    def __init__(
        self, folder, port=None, extra_args=(), config_file=None, password=None, username=None, binary=None
    ):
        self.binary = binary or REDIS_SERVER
        self.folder = folder
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.config_file = config_file
        self.password = password
        self.username = username
        self.process = None

    def start(self):
        os.makedirs(self.folder, exist_ok=True)
        command = [self.binary] + ([self.config_file] if self.config_file else [])
        command += [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.folder,
        ] + self.extra_args
        if self.password and not self.username:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            command, stdout=open(os.path.join(self.folder, "redis.log"), "ab"), stderr=subprocess.STDOUT
        )
        wait_until(lambda: self.client().ping(), 10, "redis-server on port %d" % self.port)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def client(self, db=0):
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            db=db,
            username=self.username,
            password=self.password,
            socket_timeout=5,
        )


class OdooNode(object):
    """An Odoo server process with the addon on its server-wide list.

    :param data_dir: the node's own data folder (its session folder is
        ``<data_dir>/sessions``); ``filestore`` is shared between nodes
        through a symlink, as a real deployment shares it.
    :param env: ``ODOO_SESSION_REDIS_*`` variables for this node.
    :param workers: 0 for Odoo's threaded server; more for prefork, with
        the longpolling (gevent) process on ``longpolling_port`` beside the
        workers, as production runs it (on 16.0 and later that is the
        websocket's ``--gevent-port``).
    :param series: ``"11.0"`` (``bin/odoo``), or ``"16.0"``, ``"17.0"``,
        ``"18.0"``... (``.venv-<series>/bin/odoo``, see :func:`launcher`).
    :param server_wide: the ``--load`` list; by default the addon after
        ``web`` (Odoo 11) or ``base,web`` (16 and later).
    :param addons_path: ``--addons-path``; this checkout by default, None
        for none (Odoo's own addons and the ``odoo/addons`` folders on the
        Python path: an installed wheel).

    The ports are chosen at the first start and kept by restarts, so a
    balancer in front keeps finding the node.
    """

    def __init__(
        self,
        database,
        data_dir,
        env,
        filestore=None,
        extra_args=(),
        workers=0,
        series="11.0",
        server_wide=None,
        addons_path=REPO,
    ):
        self.database = database
        self.data_dir = data_dir
        self.addons_path = addons_path
        self.env = env
        self.filestore = filestore
        self.extra_args = list(extra_args)
        self.workers = workers
        self.series = series
        if server_wide is None:
            server_wide = "web,session_redis" if series == "11.0" else "base,web,session_redis"
        self.server_wide = server_wide
        self.port = None
        self.longpolling_port = None
        self.process = None
        self.log_path = os.path.join(data_dir, "odoo.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def longpolling_url(self):
        return "http://127.0.0.1:%d" % self.longpolling_port

    @property
    def session_folder(self):
        return os.path.join(self.data_dir, "sessions")

    def command(self, *args):
        # Odoo adds its own addons folder to the path on every series.
        addons = ["--addons-path=" + self.addons_path] if self.addons_path else []
        return (
            [launcher(self.series)]
            + addons
            + [
                "--load=" + self.server_wide,
                "--data-dir=" + self.data_dir,
                "-d",
                self.database,
                "--db-filter=^%s$" % self.database,
                "--max-cron-threads=0",
            ]
            + list(args)
        )

    def shell(self, script, *options, timeout=300):
        """Run ``script`` in ``odoo shell`` on this node's database (the node
        need not be started); return its output."""
        self._prepare_data_dir()
        command = self.command()
        run = subprocess.run(
            command[:1] + ["shell"] + list(options) + command[1:],
            input=script,
            env=self.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            universal_newlines=True,
        )
        return run.stdout

    def process_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
        env.update(self.env)
        return env

    def _prepare_data_dir(self):
        os.makedirs(self.data_dir, exist_ok=True)
        link = os.path.join(self.data_dir, "filestore")
        if self.filestore and not os.path.lexists(link):
            os.makedirs(self.filestore, exist_ok=True)
            os.symlink(self.filestore, link)

    def run(self, *args, timeout=120):
        """Run Odoo to completion (``--stop-after-init`` style); return it."""
        self._prepare_data_dir()
        return subprocess.run(
            self.command(*args) + self.extra_args,
            env=self.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            universal_newlines=True,
        )

    def start(self, timeout=60):
        self._prepare_data_dir()
        self.port = self.port or free_port()
        args = ["--http-interface=127.0.0.1", "--http-port=%d" % self.port]
        if self.workers:
            self.longpolling_port = self.longpolling_port or free_port()
            # 16.0 renamed the option (18.0 dropped the old name).
            option = "--longpolling-port" if self.series == "11.0" else "--gevent-port"
            args += ["--workers=%d" % self.workers, "%s=%d" % (option, self.longpolling_port)]
        log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        # A session of its own: stop() can end the prefork workers with it.
        self.process = subprocess.Popen(
            self.command(*args) + self.extra_args,
            env=self.process_env(),
            stdout=open(self.log_path, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # The first request must not race the registry being built (GUIDE).
        wait_until(lambda: self._registry_loaded(log_start), timeout, "Odoo's registry (%s)" % self.log_path)
        wait_until(lambda: self._answers(self.url), timeout, "Odoo on port %d" % self.port)
        if self.workers:
            wait_until(
                lambda: self._answers(self.longpolling_url),
                timeout,
                "Odoo's longpolling on port %d" % self.longpolling_port,
            )
        return self

    def _registry_loaded(self, log_start):
        if self.process.poll() is not None:
            raise ProcessExited("Odoo exited with %s:\n%s" % (self.process.returncode, self.log()))
        with open(self.log_path, "rb") as handle:
            handle.seek(log_start)
            return b"Modules loaded." in handle.read()

    def _answers(self, url):
        if self.process.poll() is not None:
            raise ProcessExited("Odoo exited with %s:\n%s" % (self.process.returncode, self.log()))
        # 16.0 made version_info JSON-only (a GET answers 400) and added
        # /web/health, which saves no session.
        path = "/web/webclient/version_info" if self.series == "11.0" else "/web/health"
        return requests.get(url + path, timeout=2).status_code

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process:
            try:  # workers or a longpolling process left behind
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def session_files(self):
        """The session files in the node's folder: their names on Odoo 11
        (``werkzeug_<sid>.sess``); on 16.0 and later, where a session is
        ``<sessions>/<sid[:2]>/<sid>``, the session ids."""
        if not os.path.isdir(self.session_folder):
            return []
        if self.series == "11.0":
            return [name for name in os.listdir(self.session_folder) if name.endswith(".sess")]
        # A save in progress writes a temporary file at the top level: a
        # file, not a folder, so it is left out.
        sids = []
        for prefix in os.listdir(self.session_folder):
            folder = os.path.join(self.session_folder, prefix)
            if os.path.isdir(folder):
                sids += [name for name in os.listdir(folder) if name.startswith(prefix)]
        return sids

    def json(self, path, params=None, session_id=None):
        """JSON-RPC call; returns the ``requests`` response."""
        cookies = {"session_id": session_id} if session_id else None
        return requests.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params or {}},
            cookies=cookies,
            timeout=30,
        )

    def login(self, login="admin", password="admin"):
        """Authenticate; return the session id Odoo hands back."""
        response = self.json(
            "/web/session/authenticate", {"db": self.database, "login": login, "password": password}
        )
        result = response.json()["result"]
        assert result["uid"], result
        return response.cookies["session_id"]

    def session_info(self, session_id):
        """The session's user info, or None when Odoo says the session expired.

        16.0, 17.0 and 18.0 answer an unknown or ended session with the same
        JSON-RPC error as Odoo 11 (and HTTP 200).
        """
        body = self.json("/web/session/get_session_info", session_id=session_id).json()
        if "error" in body:
            assert body["error"]["data"]["name"] == "odoo.http.SessionExpiredException", body
            return None
        return body["result"]


def make_database(name, folder, series="11.0", modules="base"):
    """Create a database of that Odoo series with ``modules`` installed.

    Odoo 11 builds it with the addon loaded (off), as it always has; 16.0
    and later with ``base,web`` only, so that a database does not depend on
    the addon being importable on that series.
    """
    server_wide = None if series == "11.0" else "base,web"
    node = OdooNode(name, folder, {}, series=series, server_wide=server_wide)
    result = node.run("-i", modules, "--without-demo=all", "--stop-after-init", timeout=600)
    if result.returncode != 0:
        raise RuntimeError("creating database %s failed:\n%s" % (name, result.stdout[-5000:]))


def drop_database(name):
    import psycopg2

    connection = psycopg2.connect(dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cursor.execute('DROP DATABASE IF EXISTS "%s"' % name)
    connection.close()


def odoo_constant(name, series="19.0"):
    """A constant of the installed Odoo's ``odoo/http.py`` (``60 * 60 * 3``
    style products are computed), so that a test follows Odoo, not a guess."""
    import pytest  # not at the top: the benchmarks import this module without pytest

    found = glob.glob(
        os.path.join(REPO, ".venv-" + series, "lib", "python3*", "site-packages", "odoo", "http.py")
    )
    if not found:
        pytest.skip("Odoo %s not installed: run tools/bootstrap-series %s" % (series, series))
    with open(found[0]) as handle:
        match = re.search(r"^%s = ([\d *]+)$" % name, handle.read(), re.M)
    product = 1
    for factor in match.group(1).split("*"):
        product *= int(factor)
    return product


def start_together(*nodes):
    """Start the nodes side by side (each start waits for its HTTP port)."""
    with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
        for future in [pool.submit(node.start) for node in nodes]:
            future.result()
    return nodes


Database = collections.namedtuple("Database", "name filestore")


# TEST_SERIES=18.0 (or "11.0,19.0"): only the Odoo tests of those series run,
# as the GitHub workflow's matrix does; the store's own tests always run.
CHOSEN_SERIES = [item.strip() for item in os.environ.get("TEST_SERIES", "").split(",") if item.strip()]


def require_series(series):
    """Skip the test when that Odoo series has no virtualenv (its sources
    were missing when ``make test`` ran tools/bootstrap-series), or when
    ``TEST_SERIES`` leaves it out."""
    import pytest  # not at the top: the benchmarks import this module without pytest

    if CHOSEN_SERIES and series not in CHOSEN_SERIES:
        pytest.skip("Odoo %s: TEST_SERIES=%s leaves it out" % (series, ",".join(CHOSEN_SERIES)))
    if not series_installed(series):
        pytest.skip("Odoo %s not installed: run tools/bootstrap-series %s" % (series, series))


def copy_of(template):
    name = "%s_copy_%s" % (template.name, uuid.uuid4().hex[:6])
    copy_database(template.name, name, template.filestore)
    return Database(name, template.filestore)


class NodeFactory(object):
    """Makes Odoo nodes on one database sharing one filestore, with the
    addon on (the private Redis) or off; ``stop_all`` stops them."""

    def __init__(self, database, redis_server, folder, workers=0, series="11.0", addons_path=REPO):
        self.database = database
        self.redis_server = redis_server
        self.folder = folder
        self.workers = workers
        self.series = series
        self.addons_path = addons_path
        self.started = []

    def __call__(
        self, name="node", env=None, redis=True, start=True, workers=None, extra_args=(), server_wide=None
    ):
        settings = (
            {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": self.redis_server.url} if redis else {}
        )
        settings.update(env or {})
        node = OdooNode(
            self.database.name,
            os.path.join(self.folder, name),
            settings,
            filestore=self.database.filestore,
            extra_args=extra_args,
            workers=self.workers if workers is None else workers,
            series=self.series,
            server_wide=server_wide,
            addons_path=self.addons_path,
        )
        self.started.append(node)
        return node.start() if start else node

    def stop_all(self):
        for node in self.started:
            node.stop()
        self.redis_server.client().flushall()


def copy_database(template, name, filestore):
    """A copy of ``template`` (with its filestore folder) named ``name``."""
    subprocess.run(["createdb", "-T", template, name], check=True, timeout=120)
    source = os.path.join(filestore, template)
    if os.path.isdir(source):
        shutil.copytree(source, os.path.join(filestore, name))
