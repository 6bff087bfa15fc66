"""The ``session_redis`` command of Odoo's launcher; its work is in :mod:`.main`.

Odoo 19 loads this file on its own, as ``odoo.cli.session_redis``, outside
the addon's package (and wants the class in a module named after the
command): it imports nothing of the addon until the command runs, and then
by the addon's absolute name.
"""

import importlib

from odoo.cli import Command


class Session_Redis(Command):
    # Odoo names a command after its class, lowercased: "session_redis".
    """Sessions in Redis: stats, sessions, copy-fs, purge-fs, export-fs, revoke"""

    def run(self, args):
        importlib.import_module("odoo.addons.session_redis.cli.main").main(args)
