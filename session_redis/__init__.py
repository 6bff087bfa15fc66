"""Sessions in Redis: activated when Odoo imports this server-wide addon
(``--load=web,session_redis``); see :mod:`.activation`."""
from . import activation

activation.activate()
