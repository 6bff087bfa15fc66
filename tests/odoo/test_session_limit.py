"""ODOO_SESSION_REDIS_MAX_SESSIONS_PER_USER over two nodes, on Odoo 11 and
18: a login beyond the limit ends the user's oldest sessions on every node,
through the index."""

import pytest

from session_redis.core.layout import session_key


@pytest.mark.parametrize("limit", [1, 3])
def test_a_login_beyond_the_limit_logs_the_oldest_session_out_on_every_node(nodes, redis_client, limit):
    env = {"ODOO_SESSION_REDIS_MAX_SESSIONS_PER_USER": str(limit)}
    a, b = nodes("a", env=env), nodes("b", env=env)
    kept = [a.login() if number % 2 else b.login() for number in range(limit)]
    assert all(a.session_info(sid) and b.session_info(sid) for sid in kept)
    newest = b.login()
    oldest, kept = kept[0], kept[1:] + [newest]
    assert a.session_info(oldest) is None and b.session_info(oldest) is None
    assert redis_client.exists(session_key(oldest)) == 0
    assert all(a.session_info(sid)["uid"] and b.session_info(sid)["uid"] for sid in kept)
    assert "oldest sessions ended, over the limit of %d" % limit in b.log()
    assert oldest not in b.log() and oldest[:8] not in b.log()


def test_without_a_limit_every_login_stays(nodes):
    a = nodes("a")
    sids = [a.login() for _ in range(4)]
    assert all(a.session_info(sid) for sid in sids)
