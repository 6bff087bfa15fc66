"""Operator commands: ``odoo --addons-path=ADDONS session_redis --help``.

Odoo 11 to 18 import every addon that has a ``cli`` folder before they run a
named command; Odoo 19 imports ``cli/<command name>.py`` itself and wants
the command's class in a module of the command's name. Importing
:mod:`.session_redis` registers ``session_redis`` either way.
"""

from . import session_redis  # noqa: F401
