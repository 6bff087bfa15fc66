"""Redis topologies for the tests: TLS, a least-privilege ACL user,
master + replica + sentinels, and a three-node cluster.

Every helper starts its own redis-server processes on free loopback ports,
in a folder the test gives (a pytest tmp folder), and has a ``stop()`` that
stops whatever was started, even after a start that failed half-way. Use
them through :func:`running` so that a failing test stops them too.
"""

import collections
import contextlib
import os
import subprocess

import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.support.servers import RedisServer, free_port, wait_until

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def running(topology):
    """Start ``topology`` (anything with start/stop) and always stop it."""
    try:
        yield topology.start()
    finally:
        topology.stop()


# --- TLS ---------------------------------------------------------------------

Certificates = collections.namedtuple("Certificates", "ca server_cert server_key client_cert client_key")

_CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca
[dn]
CN = session_redis test CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_LEAF_EXTENSIONS = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = %s
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def _openssl(folder, *args):
    result = subprocess.run(
        ["openssl"] + list(args),
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )
    if result.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), result.stdout))


def _new_key(folder, name):
    # EC keys: generated in milliseconds, where RSA takes noticeable time.
    _openssl(folder, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)


def make_certificates(folder):
    """A throw-away CA, and a server and a client certificate it signed.

    Both leaf certificates name 127.0.0.1 and localhost (CN and SAN) so that
    a client checking the hostname accepts the server; the CA is ours alone,
    so a client that does not load it must refuse the server.
    """
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    with open(path("ca.cnf"), "w") as handle:
        handle.write(_CA_CONFIG)
    _new_key(folder, "ca.key")
    _openssl(
        folder, "req", "-new", "-x509", "-config", "ca.cnf", "-key", "ca.key", "-days", "2", "-out", "ca.crt"
    )
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        with open(path(name + ".ext"), "w") as handle:
            handle.write(_LEAF_EXTENSIONS % usage)
        _new_key(folder, name + ".key")
        _openssl(
            folder, "req", "-new", "-key", name + ".key", "-subj", "/CN=127.0.0.1", "-out", name + ".csr"
        )
        _openssl(
            folder,
            "x509",
            "-req",
            "-in",
            name + ".csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            name + ".ext",
            "-out",
            name + ".crt",
        )
    return Certificates(
        path("ca.crt"), path("server.crt"), path("server.key"), path("client.crt"), path("client.key")
    )


class TlsRedisServer(RedisServer):
    """A redis-server that speaks TLS only (its plain port is 0, closed).

    ``port`` is the TLS port. The readiness check and :meth:`client` use
    TLS with the client certificate, and check the hostname, so a server
    that is up proves the certificates are right too.

    :param auth_clients: ``yes`` (client certificate required), ``optional``
        or ``no`` -- redis-server's ``tls-auth-clients``.
    """

    def __init__(self, folder, certificates, auth_clients="optional", port=None, password=None):
        port = port or free_port()
        super(TlsRedisServer, self).__init__(
            folder,
            port=port,
            password=password,
            extra_args=[
                "--port",
                "0",
                "--tls-port",
                str(port),
                "--tls-cert-file",
                certificates.server_cert,
                "--tls-key-file",
                certificates.server_key,
                "--tls-ca-cert-file",
                certificates.ca,
                "--tls-auth-clients",
                auth_clients,
            ],
        )
        self.certificates = certificates

    @property
    def url(self):
        return "rediss://%s:%d/0" % (LOOPBACK, self.port)

    def client(self, db=0):
        return redis.Redis(
            host=LOOPBACK,
            port=self.port,
            db=db,
            password=self.password,
            socket_timeout=5,
            ssl=True,
            ssl_cert_reqs="required",
            ssl_check_hostname=True,
            ssl_ca_certs=self.certificates.ca,
            ssl_certfile=self.certificates.client_cert,
            ssl_keyfile=self.certificates.client_key,
        )


# --- ACL user ----------------------------------------------------------------

ACL_USER = "odoo"
ACL_RULES = ("~session:*", "+@all", "-@dangerous", "-@admin")


def acl_server(folder, user_password, admin_password):
    """A redis-server whose user ``odoo`` may only touch ``session:*`` keys
    and run no dangerous or admin command (least privilege for the addon).

    The user is declared in the server's own configuration, as a real
    deployment would; the default user keeps ``admin_password`` for the
    test's own checks (``server.client()``).
    """
    user = ["--user", ACL_USER, "on", ">" + user_password] + list(ACL_RULES)
    return RedisServer(folder, password=admin_password, extra_args=user)


# --- Sentinel ----------------------------------------------------------------


class _Servers(object):
    """Several servers started together: a start that fails half-way stops
    those already running before it raises."""

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self


class SentinelSet(_Servers):
    """A master, one replica and ``sentinels`` sentinels watching the master.

    :param password: the master's (and replica's) ``requirepass``; then the
        replica gets ``masterauth`` and the sentinels ``sentinel auth-pass``.
    :param sentinel_password: the sentinels' own ``requirepass``, or with
        ``sentinel_username`` the password of that ACL user, the only one the
        sentinels accept (their default user is off; they use it between
        themselves too).
    """

    def __init__(
        self,
        folder,
        name="sessions",
        sentinels=2,
        password=None,
        sentinel_password=None,
        sentinel_username=None,
    ):
        self.folder = folder
        self.name = name
        self.sentinel_count = sentinels
        self.password = password
        self.sentinel_password = sentinel_password
        self.sentinel_username = sentinel_username
        self.master = self.replica = None
        self.sentinels = []

    @property
    def hosts(self):
        """The ``ODOO_SESSION_REDIS_SENTINEL_HOST`` value."""
        return ",".join("%s:%d" % (LOOPBACK, sentinel.port) for sentinel in self.sentinels)

    def _start(self):
        auth = ["--masterauth", self.password] if self.password else []
        # No 5 s wait before the replica's first (diskless) full sync.
        self.master = RedisServer(
            os.path.join(self.folder, "master"),
            password=self.password,
            extra_args=["--repl-diskless-sync-delay", "0"],
        )
        self.master.start()
        self.replica = RedisServer(
            os.path.join(self.folder, "replica"),
            password=self.password,
            extra_args=["--replicaof", LOOPBACK, str(self.master.port)] + auth,
        )
        self.replica.start()
        wait_until(
            lambda: self.replica.client().info("replication")["master_link_status"] == "up",
            10,
            "replica in sync with the master",
        )
        for number in range(self.sentinel_count):
            self._start_sentinel(os.path.join(self.folder, "sentinel%d" % number))

    def _start_sentinel(self, folder):
        # Sentinels rewrite their config file: each one gets its own.
        os.makedirs(folder, exist_ok=True)
        port = free_port()
        lines = [
            "port %d" % port,
            "bind %s" % LOOPBACK,
            "sentinel monitor %s %s %d 1" % (self.name, LOOPBACK, self.master.port),
        ]
        if self.password:
            lines.append("sentinel auth-pass %s %s" % (self.name, self.password))
        if self.sentinel_username:
            user, secret = self.sentinel_username, self.sentinel_password
            lines += [
                "user default off",
                "user %s on >%s ~* &* +@all" % (user, secret),
                "sentinel sentinel-user %s" % user,
                "sentinel sentinel-pass %s" % secret,
            ]
        config = os.path.join(folder, "sentinel.conf")
        with open(config, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        sentinel = RedisServer(
            folder,
            port=port,
            config_file=config,
            extra_args=["--sentinel"],
            password=self.sentinel_password,
            username=self.sentinel_username,
        )
        self.sentinels.append(sentinel)
        sentinel.start()
        master = (LOOPBACK.encode(), self.master.port)
        wait_until(
            lambda: tuple(sentinel.client().sentinel_get_master_addr_by_name(self.name)) == master,
            10,
            "sentinel on port %d knowing the master" % port,
        )
        # A sentinel finds the replica in the master's INFO (every 10 s) and
        # then asks the replica itself; until it has, a failover is refused
        # with NOGOODSLAVE.
        wait_until(
            lambda: self._knows_a_good_replica(sentinel.client()),
            30,
            "sentinel on port %d knowing the replica" % port,
        )

    def _knows_a_good_replica(self, sentinel):
        return any(
            replica["port"] == self.replica.port
            and replica["master-link-status"] == "ok"
            and not replica["is_sdown"]
            and not replica["is_disconnected"]
            for replica in sentinel.sentinel_slaves(self.name)
        )

    def stop(self):
        for server in reversed(self.sentinels + [self.replica, self.master]):
            if server is not None:
                server.stop()


# --- Cluster -----------------------------------------------------------------


class Cluster(_Servers):
    """Three masters (no replicas) sharing the 16384 slots.

    Each node's cluster bus port is chosen free too (``cluster-port``),
    instead of Redis's default port + 10000 that may be taken or beyond 65535.
    """

    def __init__(self, folder, size=3, formed=True):
        self.folder = folder
        self.size = size
        self.formed = formed
        self.nodes = []

    @property
    def addresses(self):
        return ["%s:%d" % (LOOPBACK, node.port) for node in self.nodes]

    def _start(self):
        for number in range(self.size):
            port = free_port()
            node = RedisServer(
                os.path.join(self.folder, "node%d" % number),
                port=port,
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes-%d.conf" % port,
                    "--cluster-port",
                    str(free_port()),
                ],
            )
            self.nodes.append(node)
            node.start()
        if self.formed:
            self.form()

    def form(self):
        """Assign the slots to the nodes and wait until the cluster is ok."""
        create = subprocess.run(
            ["redis-cli", "--cluster", "create"]
            + self.addresses
            + ["--cluster-replicas", "0", "--cluster-yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=60,
        )
        if create.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed:\n" + create.stdout)
        for node in self.nodes:
            wait_until(
                lambda node=node: node.client().cluster("info")["cluster_state"] == "ok",
                20,
                "cluster_state:ok on port %d" % node.port,
            )

    def client(self):
        """An independent cluster client, for the tests' own checks."""
        return RedisCluster(
            startup_nodes=[ClusterNode(LOOPBACK, node.port) for node in self.nodes], socket_timeout=5
        )

    def stop(self):
        for node in reversed(self.nodes):
            node.stop()
