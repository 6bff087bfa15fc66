"""The wheels (``make wheels``, one per series) install the addon where
each Odoo finds it by itself, and leave the checkout as it was."""

import ast
import glob
import os
import re
import subprocess
import sys
import zipfile

import pytest

from session_redis.core.layout import session_key
from tests.support.servers import REPO, SERIES, NodeFactory, launcher, start_together

BUILD = [sys.executable, os.path.join(REPO, "tools", "build-wheels")]


def run(command, **kwargs):
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, **kwargs
    )
    assert result.returncode == 0, result.stdout[-5000:]
    return result


def pip_install(python, *arguments):
    """``pip install`` with ``python``, quietly (a requirements install takes minutes)."""
    command = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    return run(command + list(arguments), timeout=900)


def build_leftovers():
    """What a build in the checkout would leave (setuptools' build folders)."""
    patterns = ("build", "dist", "*.egg-info", "session_redis/*.egg-info", "session_redis/build")
    return sorted(found for pattern in patterns for found in glob.glob(os.path.join(REPO, pattern)))


def build_wheel(series, folder):
    """The series' wheel, built by tools/build-wheels into ``folder``; the
    checkout gains no build folder."""
    before = build_leftovers()
    (wheel,) = run(BUILD + ["--dist", str(folder), series]).stdout.split()
    assert build_leftovers() == before
    return wheel


def test_wheel_installs_the_addon_under_odoo_addons(tmp_path, redis_server):
    wheel = build_wheel("11.0", tmp_path / "dist")
    assert os.path.basename(wheel).startswith("odoo11_addon_session_redis-11.0.")
    names = zipfile.ZipFile(wheel).namelist()
    assert "odoo/addons/session_redis/__manifest__.py" in names
    with open(os.path.join(REPO, "session_redis", "__manifest__.py")) as handle:
        data_files = ast.literal_eval(handle.read())["data"]
    assert data_files and not [f for f in data_files if "odoo/addons/session_redis/" + f not in names]
    assert not [n for n in names if n in ("odoo/__init__.py", "odoo/addons/__init__.py")]

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    pip_install(python, "-r", os.path.join(REPO, "requirements.txt"), wheel)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    env.update(ODOO_SESSION_REDIS="1", ODOO_SESSION_REDIS_URL=redis_server.url)
    started = run(
        [
            python,
            "-c",
            "import odoo; odoo.cli.main()",
            "--load=web,session_redis",
            "--data-dir=" + str(tmp_path / "data"),
            "--stop-after-init",
        ],
        env=env,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert REPO not in started.stdout
    assert "odoo.addons.session_redis.activation: web sessions in Redis" in started.stdout


@pytest.mark.parametrize("series", SERIES)
def test_the_series_wheel_is_found_without_addons_path_and_two_nodes_share_a_login(
    series, tmp_path, series_database, redis_server, redis_client
):
    """The OCA's way: the wheel ``odoo_addon_session_redis-<series>.<version>``
    installed into a folder on that Odoo's Python path (``pip --target``),
    no ``--addons-path``, only ``--load``."""
    database = series_database(series)
    wheel = build_wheel(series, tmp_path / "dist")
    with open(os.path.join(REPO, "session_redis", "__manifest__.py")) as handle:
        version = ast.literal_eval(handle.read())["version"]
    assert os.path.basename(wheel) == "odoo_addon_session_redis-%s.%s-py3-none-any.whl" % (series, version)
    metadata = zipfile.ZipFile(wheel).read(
        "odoo_addon_session_redis-%s.%s.dist-info/METADATA" % (series, version)
    )
    assert b"Classifier: Framework :: Odoo :: " + series.encode() in metadata
    assert b"Requires-Dist: redis" in metadata
    manifest = zipfile.ZipFile(wheel).read("odoo/addons/session_redis/__manifest__.py").decode()
    assert ast.literal_eval(manifest)["version"] == "%s.%s" % (series, version)

    site = str(tmp_path / "site")
    python = os.path.join(os.path.dirname(launcher(series)), "python")
    pip_install(python, "--no-deps", "--target", site, wheel)
    factory = NodeFactory(database, redis_server, str(tmp_path / "nodes"), series=series)
    a, b = (factory(name, env={"PYTHONPATH": site}, start=False) for name in ("a", "b"))
    for node in (a, b):
        node.addons_path = None
    try:
        start_together(a, b)
        sid = a.login()
        assert b.session_info(sid)["uid"] == 2
        assert redis_client.exists(session_key(sid)) == 1
        log = a.log()
        paths = re.search(r"addons paths: (.*)", log).group(1)
        # (quoted: the series' own addons live under REPO/.venv-<series>)
        assert "'%s'" % os.path.join(site, "odoo", "addons") in paths and "'%s'" % REPO not in paths
        assert "odoo.addons.session_redis.activation: web sessions in Redis" in log
    finally:
        factory.stop_all()
