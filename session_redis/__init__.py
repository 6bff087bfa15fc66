"""Sessions in Redis, switched on when Odoo loads this server-wide addon
(``--load=web,session_redis`` on Odoo 11, ``--load=base,web,session_redis``
on 16 and later); see :mod:`.activation`.

Two layers: :mod:`.core` knows Redis and no Odoo; :mod:`.odoo11` and
:mod:`.odoo16` are the thin glue of each Odoo generation, chosen by
:mod:`.series`.

Activation waits for Odoo's ``post_load`` hook rather than the import: Odoo
imports every addon that has a ``cli`` folder before it has read its
configuration (``-c``, ``--data-dir``), and the settings may live there.
"""

from . import activation, cli, models  # noqa: F401  (cli: the ``odoo session_redis`` command)


def activate():
    """post_load hook: Odoo calls it once it has read its configuration."""
    activation.activate()
