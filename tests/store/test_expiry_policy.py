"""How long sessions and their indexes live: the pure policy of
session_redis.core.store.expiry, without Redis."""

import pytest

from session_redis.core.store import expiry

HOUR = 3600


@pytest.mark.parametrize(
    "session, expected",
    [
        ({"uid": 2}, 8 * HOUR),  # logged in
        ({}, HOUR),  # anonymous
        ({"uid": 2, "expiration": 60}, 60),  # its own code
        ({"expiration": 60}, 60),
        ({"uid": 2, "expiration": True}, 8 * HOUR),  # not a number of seconds: ignored
        ({"uid": 2, "expiration": -5}, 8 * HOUR),
        ({"uid": 2, "expiration": "60"}, 8 * HOUR),
    ],
)
def test_a_session_lives_its_own_expiration_else_the_logged_in_or_anonymous_one(session, expected):
    assert expiry.ttl_for(session, 8 * HOUR, HOUR) == expected


def test_the_lifetime_counts_from_creation_whatever_the_activity():
    assert expiry.lifetime_left(1000.0, 1500.0, None) is None
    assert expiry.lifetime_left(1000.0, 1500.0, 600) == 100
    assert expiry.lifetime_left(1000.0, 1700.0, 600) <= 0
    assert not expiry.lifetime_over(1000.0, 1599.0, 600)
    assert expiry.lifetime_over(1000.0, 1600.0, 600)
    assert not expiry.lifetime_over(0, 10**9, 600), "a value without times (the older module's) is not over"


def test_idle_over_once_untouched_for_its_ttl():
    assert not expiry.idle_over(1000.0, 1999.0, 1000)
    assert expiry.idle_over(1000.0, 2000.0, 1000)
    assert not expiry.idle_over(0, 10**9, 1000)


def test_a_touch_is_due_once_per_interval_never_sooner_than_a_tenth_of_the_expiration():
    assert not expiry.touch_due(False, 60, 0.0, 10**6, 3600), "without sliding expiry, never"
    assert not expiry.touch_due(True, 60, 1000.0, 1059.0, 3600)
    assert expiry.touch_due(True, 60, 1000.0, 1060.0, 3600)
    # a 100 s session is touched every 10 s, not every 60
    assert expiry.touch_due(True, 60, 1000.0, 1010.0, 100)


def test_an_index_outlives_every_session_it_lists():
    assert expiry.index_ttl(HOUR, 8 * HOUR) == 16 * HOUR
    assert expiry.index_ttl(30 * HOUR, 8 * HOUR) == 60 * HOUR
