"""What sessions cost in Redis memory, measured on real Odoo sessions."""

import requests

from session_redis.settings import load_settings
from session_redis.store import session_key


def test_bytes_per_session_and_the_cost_of_a_cookieless_crawler(odoo_nodes, redis_client, figure):
    node = odoo_nodes()
    logged_in = redis_client.memory_usage(session_key(node.login()))
    anonymous_sid = requests.get(node.url + "/web/login", timeout=30).cookies["session_id"]
    anonymous = redis_client.memory_usage(session_key(anonymous_sid))
    hours = load_settings({}).expiration_anonymous / 3600.0
    per_hour = 3600 * anonymous
    figure(
        "capacity: %d bytes per logged-in session, %d per anonymous one; a crawler that "
        "never returns its cookie, at 1 request/s, adds %.1f MB per hour and holds %.1f MB "
        "once its sessions expire as fast as it makes them (%.0f h anonymous expiration)"
        % (logged_in, anonymous, per_hour / 1e6, per_hour * hours / 1e6, hours)
    )
    assert 0 < anonymous < logged_in < 2048
