"""Packages the addon the way Odoo addons are published on PyPI.

The wheel installs the addon as ``odoo/addons/session_redis``, where Odoo 11
finds it with no ``--addons-path``; the distribution is named
``odoo11-addon-session_redis`` after the community's convention, its version
is ``11.0.`` followed by ``__manifest__.py``'s series-free version, and its
dependencies come from the manifest too.
"""

import ast
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ADDON = "session_redis"

with open(os.path.join(HERE, ADDON, "__manifest__.py")) as handle:
    MANIFEST = ast.literal_eval(handle.read())

with open(os.path.join(HERE, "README.rst")) as handle:
    README = handle.read()

setup(
    name="odoo11-addon-%s" % ADDON,
    version="11.0." + MANIFEST["version"],
    description=MANIFEST["summary"],
    long_description=README,
    long_description_content_type="text/x-rst",
    license="AGPL-3",
    author=MANIFEST["author"],
    python_requires=">=3.5",
    install_requires=MANIFEST["external_dependencies"]["python"],
    extras_require={"hiredis": ["hiredis"], "metrics": ["prometheus_client"]},
    package_dir={"odoo.addons." + ADDON: ADDON},
    packages=["odoo.addons." + ADDON]
    + ["odoo.addons.%s.%s" % (ADDON, package) for package in find_packages(ADDON)],
    package_data={"odoo.addons." + ADDON: ["README.rst", "views/*.xml", "data/*.xml", "security/*.csv"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Odoo",
        "Framework :: Odoo :: 11.0",
        "License :: OSI Approved :: GNU Affero General Public License v3",
    ],
    zip_safe=False,
)
