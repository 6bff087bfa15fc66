"""Packages the addon the way the OCA publishes Odoo addons, one wheel per series.

``tools/build-wheels`` (``make wheels``) runs this file once per series on
a copy of the sources, with ``ODOO_SERIES`` set and the manifest's version
already prefixed with the series, so the checkout stays clean. Each wheel
installs ``odoo/addons/session_redis``, where that Odoo finds the addon with
no ``--addons-path``. Its name follows the OCA's convention:
``odoo11-addon-session_redis`` for 11.0, ``odoo-addon-session-redis`` from
16.0 on. Its version is the manifest's (``18.0.1.2.0``), its dependencies are
the manifest's Python ones; it does not require a distribution named
``odoo``, which neither Odoo's packages nor its images register.
"""

import ast
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ADDON = "session_redis"
SERIES = os.environ.get("ODOO_SERIES", "11.0")

# the oldest Python each series runs on, from that Odoo's own setup
PYTHON_REQUIRES = {"11.0": ">=3.5", "16.0": ">=3.7", "17.0": ">=3.10", "18.0": ">=3.10", "19.0": ">=3.10"}
# the redis-py the tests pin (requirements.txt, requirements-odoo16plus.txt) and later
REDIS_REQUIRES = "redis>=5.0"

with open(os.path.join(HERE, ADDON, "__manifest__.py")) as handle:
    MANIFEST = ast.literal_eval(handle.read())

with open(os.path.join(HERE, "README.rst")) as handle:
    README = handle.read()

version = MANIFEST["version"]
if not version.startswith(SERIES + "."):
    version = SERIES + "." + version
name = "odoo11-addon-%s" % ADDON if SERIES == "11.0" else "odoo-addon-session-redis"
requires = [REDIS_REQUIRES if r == "redis" else r for r in MANIFEST["external_dependencies"]["python"]]

setup(
    name=name,
    version=version,
    description=MANIFEST["summary"],
    long_description=README,
    long_description_content_type="text/x-rst",
    license="AGPL-3",
    author=MANIFEST["author"],
    python_requires=PYTHON_REQUIRES[SERIES],
    install_requires=requires,
    extras_require={"hiredis": ["hiredis"], "metrics": ["prometheus_client"]},
    package_dir={"odoo.addons." + ADDON: ADDON},
    packages=["odoo.addons." + ADDON]
    + ["odoo.addons.%s.%s" % (ADDON, package) for package in find_packages(ADDON)],
    package_data={"odoo.addons." + ADDON: ["views/*.xml", "data/*.xml", "security/*.csv"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Odoo",
        "Framework :: Odoo :: " + SERIES,
        "License :: OSI Approved :: GNU Affero General Public License v3",
    ],
    zip_safe=False,
)
