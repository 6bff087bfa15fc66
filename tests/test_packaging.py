"""The wheel installs the addon where Odoo 11 finds it by itself."""

import ast
import os
import subprocess
import sys
import zipfile

from tests.servers import REPO


def run(command, **kwargs):
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, **kwargs
    )
    assert result.returncode == 0, result.stdout[-5000:]
    return result


def test_wheel_installs_the_addon_under_odoo_addons(tmp_path, redis_server):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", REPO, "-w", str(tmp_path / "dist")])
    (wheel,) = (tmp_path / "dist").iterdir()
    assert wheel.name.startswith("odoo11_addon_session_redis-11.0.")
    names = zipfile.ZipFile(str(wheel)).namelist()
    assert "odoo/addons/session_redis/__manifest__.py" in names
    with open(os.path.join(REPO, "session_redis", "__manifest__.py")) as handle:
        data_files = ast.literal_eval(handle.read())["data"]
    assert data_files and not [f for f in data_files if "odoo/addons/session_redis/" + f not in names]
    assert not [n for n in names if n in ("odoo/__init__.py", "odoo/addons/__init__.py")]

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            os.path.join(REPO, "requirements.txt"),
            str(wheel),
        ],
        timeout=900,
    )

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
