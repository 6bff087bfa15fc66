"""nginx in front of Odoo nodes, the way operators deploy several nodes.

The balancer picks a node at random for every request (no stickiness), so
one user's requests land on every node: only sessions shared through Redis
keep that user logged in. ``/longpolling/`` goes to the nodes' longpolling
ports, everything else to their HTTP ports. nginx runs from a private prefix folder with
``deploy/nginx.conf.template`` filled in, on a free loopback port.
"""

import collections
import fcntl
import getpass
import os
import re
import shutil
import socket
import subprocess

from tests.support.servers import REPO, free_port, wait_until

TEMPLATE = os.path.join(REPO, "deploy", "nginx.conf.template")

# Odoo 11 compiles the web client's stylesheets with lessc; Debian's
# node-less does not work with it, these npm versions do.
LESS_PACKAGES = ["less@3.13.1", "less-plugin-clean-css@1.5.1"]
TOOLS = os.path.join(REPO, ".tools")
TOOLS_BIN = os.path.join(TOOLS, "node_modules", ".bin")


def servers(ports):
    """The template's server lines: ``max_fails=0`` as deploy/nginx.conf.template
    asks, so that a node refusing connections during its restart is never
    marked down (each request then tries the other one)."""
    return "\n".join("        server 127.0.0.1:%d max_fails=0;" % port for port in ports)


def render_config(port, upstream_ports, longpolling_ports, user=None):
    """The template with the listening port and the nodes' ports filled in."""
    values = {
        "@LISTEN@": "127.0.0.1:%d" % port,
        "@UPSTREAM_SERVERS@": servers(upstream_ports),
        "@LONGPOLLING_SERVERS@": servers(longpolling_ports),
        "@USER@": user or getpass.getuser(),
    }
    with open(TEMPLATE) as handle:
        lines = handle.read().splitlines()
    # Comments may name a placeholder: filled there, a list of servers
    # would become directives.
    for number, line in enumerate(lines):
        if not line.lstrip().startswith("#"):
            for name, value in values.items():
                line = line.replace(name, value)
            lines[number] = line
    text = "\n".join(lines) + "\n"
    unfilled = [
        line for line in text.splitlines() if re.search(r"@\w+@", line) and not line.lstrip().startswith("#")
    ]
    assert not unfilled, "unfilled placeholder in %s: %s" % (TEMPLATE, unfilled)
    return text


class Balancer(object):
    """An nginx of our own in front of the given node ports.

    :param folder: nginx's prefix folder: configuration, logs, pid, temp files.
    :param upstream_ports: the nodes' HTTP ports.
    :param longpolling_ports: the nodes' longpolling ports; by default the
        HTTP ports, where threaded (not prefork) nodes serve the bus.
    """

    def __init__(self, folder, upstream_ports, longpolling_ports=None, port=None):
        self.folder = os.path.abspath(folder)
        self.upstream_ports = list(upstream_ports)
        self.longpolling_ports = list(upstream_ports if longpolling_ports is None else longpolling_ports)
        self.port = port or free_port()
        self.process = None
        self.config_path = os.path.join(self.folder, "nginx.conf")
        self.access_log = os.path.join(self.folder, "access.log")
        self.error_log = os.path.join(self.folder, "error.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=15):
        os.makedirs(self.folder, exist_ok=True)
        with open(self.config_path, "w") as handle:
            handle.write(render_config(self.port, self.upstream_ports, self.longpolling_ports))
        # -e: nginx opens its error log before reading the configuration;
        # without it, it would try the system's log file.
        self.process = subprocess.Popen(
            ["nginx", "-c", self.config_path, "-p", self.folder + os.sep, "-e", self.error_log],
            stdout=open(os.path.join(self.folder, "nginx.out"), "ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._listens, timeout, "nginx on port %d" % self.port)
        return self

    def _listens(self):
        if self.process.poll() is not None:
            raise RuntimeError("nginx exited with %s:\n%s" % (self.process.returncode, self.log()))
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    @classmethod
    def over(cls, folder, nodes, port=None):
        """A balancer in front of started ``nodes``: prefork ones' longpolling
        ports, threaded ones' HTTP ports for ``/longpolling/``."""
        return cls(
            folder,
            [node.port for node in nodes],
            [node.longpolling_port or node.port for node in nodes],
            port,
        )

    def log(self):
        text = ""
        for path in (os.path.join(self.folder, "nginx.out"), self.error_log):
            if os.path.exists(path):
                with open(path, errors="replace") as handle:
                    text += handle.read()
        return text

    def access_lines(self):
        """``(node addresses, status, method, uri)`` per proxied request,
        oldest first; a request nginx retried names every node it tried
        (``a, b``: the last one answered)."""
        if not os.path.exists(self.access_log):
            return []
        with open(self.access_log, errors="replace") as handle:
            lines = [line for line in handle.read().splitlines() if line]
        return [tuple(line.rsplit(" ", 3)) for line in lines]  # a URI holds no space

    def requests_per_node(self, since=0):
        """How many requests each node answered, from access line ``since`` on.

        A request nginx retried on another node counts for both."""
        counts = collections.Counter()
        for addresses, _status, _method, _uri in self.access_lines()[since:]:
            for address in addresses.split(", "):
                if address != "-":
                    counts[address] += 1
        return counts


def lessc_bin_dir(timeout=600):
    """The folder holding a working lessc, installed into ``.tools`` by npm
    when missing; None when there is no npm to install it with."""
    if not shutil.which("npm") and not os.access(os.path.join(TOOLS_BIN, "lessc"), os.X_OK):
        return None
    os.makedirs(TOOLS, exist_ok=True)
    with open(os.path.join(TOOLS, ".install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test workers side by side install it once
        if not os.access(os.path.join(TOOLS_BIN, "lessc"), os.X_OK):
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", TOOLS] + LESS_PACKAGES,
                check=True,
                timeout=timeout,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
    return TOOLS_BIN


def path_with_lessc(bin_dir):
    """``PATH`` for Odoo processes: lessc first, so Odoo never caches a
    failed stylesheet compilation."""
    return bin_dir + os.pathsep + os.environ.get("PATH", "")
