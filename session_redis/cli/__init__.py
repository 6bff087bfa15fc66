"""Operator commands: ``odoo --addons-path=ADDONS session_redis --help``.

Odoo 11 imports every addon that has a ``cli`` folder before it runs a named
command; importing :mod:`.command` registers ``session_redis``.
"""

from . import command  # noqa: F401
