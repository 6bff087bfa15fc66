"""The two reply parsers redis-py can use, each client pinned to one.

hiredis (the C parser) is measured next to redis-py's pure-Python parser
in the same process when ``benchlib`` could make it importable; pinning
each client keeps the pure-Python figures pure.
"""

import benchlib  # noqa: F401  (first: it makes hiredis importable before redis)
import redis
from redis._parsers import Encoder
from redis.connection import HiredisRespSerializer, PythonRespSerializer, _HiredisParser, _RESP2Parser
from redis.utils import HIREDIS_AVAILABLE

from session_redis.core.client import make_client
from session_redis.core.settings import load_settings

REDIS_PY_VERSION = redis.__version__

PARSERS = {
    # name: (reply parser, command packer factory)
    "python": (_RESP2Parser, lambda: PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode)),
    "hiredis": (_HiredisParser, HiredisRespSerializer),
}


def measured_parsers():
    """Pure Python first, then hiredis when it could be imported."""
    return ["python"] + (["hiredis"] if HIREDIS_AVAILABLE else [])


def addon_client(server, parser):
    """The client Odoo would get from these settings, pinned to ``parser``."""
    settings = load_settings({"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": server.url})
    client = make_client(settings)
    parser_class, packer = PARSERS[parser]
    client.connection_pool.connection_kwargs.update(parser_class=parser_class, command_packer=packer())
    client.connection_pool.disconnect()
    return client


def hiredis_version():
    try:
        import hiredis
    except ImportError:
        return None
    return hiredis.__version__
