"""Codec: what Odoo puts in a session comes back with its type."""

import datetime
import json
import logging

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict, ImmutableOrderedMultiDict, MultiDict, OrderedMultiDict

from session_redis.core.codec import CorruptData, decode_session, encode_session


def round_trip(value):
    return decode_session(encode_session({"v": value}))["v"]


VALUES = [
    "text",
    "",
    "é ✓ 日本",
    0,
    -12,
    2**70,
    1.5,
    True,
    False,
    None,
    [1, "a", None],
    {"a": {"b": [1, 2]}},
    datetime.date(2026, 11, 25),
    datetime.datetime(2026, 11, 25, 13, 14, 15, 123456),
    datetime.datetime(2026, 11, 25, 13, 14, 15, tzinfo=datetime.timezone.utc),
    datetime.datetime(
        2026, 11, 25, 13, 14, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
    ),
    {1, 2, 3},
    frozenset(["a"]),
    (1, "two", (3,)),
    (),
    b"\x00\xffbinary",
    {1: "int key", 2: {"next": 3}},
    {"__type__": "tuple", "value": [1]},
    {"_type": "set", "value": [1]},
    {"_type": "whatever", "value": 1},
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:40] for v in VALUES])
def test_round_trip_keeps_value_and_type(value):
    back = round_trip(value)
    assert back == value
    assert type(back) is type(value)


def test_aware_datetime_from_pytz_keeps_its_instant():
    value = pytz.timezone("Europe/Brussels").localize(datetime.datetime(2026, 7, 1, 12, 0))
    back = round_trip(value)
    assert back == value and back.utcoffset() == datetime.timedelta(hours=2)


@pytest.mark.parametrize("cls", [MultiDict, ImmutableMultiDict, ImmutableOrderedMultiDict, OrderedMultiDict])
def test_multidicts_keep_class_order_and_repeated_keys(cls):
    value = cls([("b", "1"), ("a", "2"), ("b", "3")])
    back = round_trip(value)
    assert type(back) is cls
    assert list(back.items(multi=True)) == list(value.items(multi=True))


def test_odoo_saved_actions_keep_integer_keys():
    session = {"saved_actions": {"next": 3, "actions": {1: {"id": 7}, 2: {"id": 8}}}}
    assert decode_session(encode_session(session))["saved_actions"]["actions"][2] == {"id": 8}


def test_interrupted_post_form_survives():
    form = ImmutableOrderedMultiDict([("login", "demo"), ("redirect", "/web#a=1")])
    session = {"serialized_request_data": {"form": form, "files": MultiDict()}}
    back = decode_session(encode_session(session))["serialized_request_data"]
    assert back["form"] == form and type(back["form"]) is ImmutableOrderedMultiDict


def test_unsupported_value_drops_only_its_key_and_names_it(caplog):
    with caplog.at_level(logging.ERROR):
        raw = encode_session({"uid": 2, "weird": object(), "deep": [{"x": 1j}]})
    assert decode_session(raw) == {"uid": 2}
    assert "'weird'" in caplog.text and "object" in caplog.text
    assert "'deep'" in caplog.text and "complex" in caplog.text


def test_values_written_by_the_older_module_decode():
    raw = (
        b'{"d": {"_type": "date_isoformat", "value": "2026-01-02"},'
        b' "t": {"_type": "datetime_isoformat", "value": "2026-01-02T03:04:05"},'
        b' "s": {"_type": "set", "value": [1, 2]}, "o": {"_type": "other", "value": 3}}'
    )
    assert decode_session(raw) == {
        "d": datetime.date(2026, 1, 2),
        "t": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "s": {1, 2},
        "o": {"_type": "other", "value": 3},
    }


def test_encoding_is_canonical():
    assert encode_session({"b": 1, "a": 2}) == encode_session({"a": 2, "b": 1})


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b"12",
        b"null",
        b'{"__type__": "tuple", "value": []}',
        b'{"a": {"__type__": "os.system", "value": "ls"}}',
        b'{"a": {"__type__": "date", "value": "yesterday"}}',
        b'{"a": {"__type__": "bytes", "value": "***"}}',
        b'{"a": {"__type__": "dict", "value": 5}}',
        b'{"a": {"__type__": "set", "value": [[1]]}}',
        b'{"a": {"__type__": "tuple", "value": [1], "extra": 1}}',
        b'{"a": {"_type": "date_isoformat", "value": "soon"}}',
        b'{"a": {"_type": "set", "value": [[1]]}}',
        b"[" * 100000 + b"]" * 100000,
        b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    ],
)
def test_corrupt_data_is_refused(raw):
    with pytest.raises(CorruptData):
        decode_session(raw)


json_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
hashables = st.none() | st.booleans() | st.integers() | st.text() | st.dates()
values = st.recursive(
    json_scalars | st.dates() | st.datetimes() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=3)
        | st.sets(hashables, max_size=3)
        | st.frozensets(hashables, max_size=3)
    ),
    max_leaves=12,
)


def typed(value):
    """The value with each container's type made visible, for comparison."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted(((repr(k), typed(v)) for k, v in value.items())))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(v) for v in value))
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), values))
def test_any_nested_session_round_trips(session):
    raw = encode_session(session)
    json.loads(raw.decode("utf-8"))  # plain JSON, readable by anyone
    assert typed(decode_session(raw)) == typed(session)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_decode_or_are_refused(raw):
    try:
        assert isinstance(decode_session(raw), dict)
    except CorruptData:
        pass
