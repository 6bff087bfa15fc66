"""Start-up never falls back to filesystem sessions: whatever goes wrong while
the addon activates stops the server with one clear line. Odoo catches the
ordinary exceptions of server-wide modules and would carry on with files,
each node on its own: the silent split-brain these tests guard against."""

import os
import pickle
import shutil
import subprocess
import sys
import types

import odoo
import pytest
from odoo import http
from odoo.addons.base.res.res_users import Users

from session_redis import activation, series
from session_redis.core.store import RedisSessionStore


def drop_root_file_access(command):
    """Run ``command`` as root without the power to ignore file modes, so a
    folder's mode bits apply as they do for the non-root user a site runs
    Odoo as (this machine's Python lives where only root may go)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] + command


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_a_session_folder_that_cannot_be_listed_stops_the_copy_and_the_server(odoo_nodes):
    """Mode 0300: Odoo can write its session files there, so its own store
    works, but the copy cannot list them."""
    node = odoo_nodes(env={"ODOO_SESSION_REDIS_COPY_EXISTING_FS_SESSIONS": "1"}, start=False)
    node.run("--stop-after-init")  # creates the data folder and its session folder
    os.chmod(node.session_folder, 0o300)
    try:
        run = subprocess.run(
            drop_root_file_access(node.command("--stop-after-init")),
            env=node.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=120,
        )
    finally:
        os.chmod(node.session_folder, 0o700)
    assert run.returncode != 0, run.stdout
    assert "Failed to load server-wide module" not in run.stdout
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("session_redis: ")]
    assert line.startswith("session_redis: could not start: PermissionError")
    assert node.session_folder in line


@pytest.fixture
def odoo_in_this_process(monkeypatch, tmp_path):
    """Odoo's configuration and HTTP globals, restored after the test."""
    monkeypatch.setitem(odoo.tools.config.options, "data_dir", str(tmp_path / "data"))
    monkeypatch.setattr(http.Root, "session_store", http.Root.session_store)
    monkeypatch.setattr(http.Root, "dispatch", http.Root.dispatch)
    monkeypatch.setattr(http, "session_gc", http.session_gc)
    monkeypatch.setattr(http.OpenERPSession, "authenticate", http.OpenERPSession.authenticate)
    monkeypatch.setattr(Users, "write", Users.write)
    os.makedirs(series.session_folder(), exist_ok=True)


def test_an_unexpected_error_inside_the_copy_stops_the_server_with_one_line(
    odoo_in_this_process, redis_server, monkeypatch, caplog
):
    def broken_copy(folder, store):
        raise RuntimeError("a bug in the copy")

    monkeypatch.setattr(activation, "copy_fs_sessions", broken_copy)
    environ = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": redis_server.url,
        "ODOO_SESSION_REDIS_COPY_EXISTING_FS_SESSIONS": "1",
        "ODOO_SESSION_REDIS_PURGE_EXISTING_FS_SESSIONS": "1",
    }
    with pytest.raises(SystemExit) as stopped:
        activation.activate(environ)
    assert str(stopped.value) == "session_redis: could not start: RuntimeError: a bug in the copy"
    assert "could not start, stopping the server" in caplog.text


def test_redis_down_during_the_copy_keeps_the_files_and_the_redis_store(odoo_in_this_process, tmp_path):
    """The one failure start-up tolerates: Redis unreachable. Nothing is
    purged, and Odoo already uses the Redis store (503s until Redis is back)."""
    folder = series.session_folder()
    kept = os.path.join(folder, "werkzeug_%s.sess" % ("a" * 40))
    with open(kept, "wb") as handle:
        pickle.dump({"uid": 2, "login": "admin"}, handle)
    environ = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": "redis://127.0.0.1:1/0",
        "ODOO_SESSION_REDIS_COPY_EXISTING_FS_SESSIONS": "1",
        "ODOO_SESSION_REDIS_PURGE_EXISTING_FS_SESSIONS": "1",
    }
    activation.activate(environ)
    assert os.path.exists(kept)
    assert isinstance(http.Root().session_store, RedisSessionStore)


def test_a_glue_package_short_of_the_contract_stops_the_server_naming_what_it_lacks(monkeypatch):
    """A new generation's folder that forgot a function: the server stops at
    once, naming the package and the missing names, instead of failing on
    the first call to it (an export to files, weeks later)."""
    partial = types.ModuleType("session_redis.odoo_partial")
    partial.make_store = partial.answer_probes = lambda *args: None
    monkeypatch.setitem(sys.modules, partial.__name__, partial)
    monkeypatch.setattr(series, "glue_package", lambda major: "odoo_partial")
    with pytest.raises(SystemExit) as stopped:
        activation.activate({"ODOO_SESSION_REDIS": "1"})
    assert str(stopped.value) == (
        "session_redis: could not start: GlueError: session_redis.odoo_partial, the glue of Odoo %d, "
        "lacks use_redis_sessions, filesystem_store" % series.MAJOR
    )
    with pytest.raises(series.GlueError):
        series.glue()
    monkeypatch.undo()
    assert set(series.GLUE_CONTRACT) <= set(vars(series.glue()))
