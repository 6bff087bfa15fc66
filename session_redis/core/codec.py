"""Session data <-> JSON bytes, keeping the Python types Odoo stores.

Plain JSON would turn a tuple into a list, a datetime into a crash and the
integer keys of ``saved_actions`` into strings. Values JSON cannot carry as
they are become small tagged objects ``{"__type__": NAME, "value": ...}``;
a plain dict that could be mistaken for one (or has non-string keys) is
itself tagged as ``dict``, so decoding is never ambiguous.

Sessions written by camptocamp's session_redis, which this addon replaces,
decode too: that module tagged dates, datetimes and sets as
``{"_type": "date_isoformat" | "datetime_isoformat" | "set", "value": ...}``.

Nothing here knows about Redis or Odoo, and nothing is ever unpickled or
evaluated: decoding only builds the types listed in ``_DECODERS``.
"""

import base64
import datetime
import json
import logging
from typing import Any, Callable, Dict, Iterable, List, Mapping, NoReturn, Optional, Tuple, Union

from werkzeug.datastructures import (
    ImmutableMultiDict,
    ImmutableOrderedMultiDict,
    MultiDict,
    OrderedMultiDict,
)

_logger = logging.getLogger(__name__)

TAG = "__type__"
LEGACY_TAG = "_type"
_TAG_TEXT = '"%s"' % TAG
_LEGACY_TAG_TEXT = '"%s"' % LEGACY_TAG

# Most specific first: ImmutableOrderedMultiDict is also a MultiDict.
_MULTIDICTS = [
    ("ImmutableOrderedMultiDict", ImmutableOrderedMultiDict),
    ("ImmutableMultiDict", ImmutableMultiDict),
    ("OrderedMultiDict", OrderedMultiDict),
    ("MultiDict", MultiDict),
]


class UnsupportedType(TypeError):
    """A value of a type the codec cannot store."""

    def __init__(self, value: Any) -> None:
        self.type_name = type(value).__name__
        super().__init__("cannot store a value of type %s" % self.type_name)


class CorruptData(ValueError):
    """Stored bytes that do not decode to a session dict."""


def _tagged(name: str, value: Any) -> Dict[str, Any]:
    return {TAG: name, "value": value}


# Exact types that JSON carries as they are: most session values are one of
# these, so they are tested first, by type, before the slower isinstance chain.
_AS_IS = {str, bool, int, float, type(None)}


def to_jsonable(value: Any) -> Any:
    """Return ``value`` made of JSON types only, tagging the others."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return _dict_to_jsonable(value)
    if kind is list:
        return [to_jsonable(item) for item in value]
    return _other_to_jsonable(value)


def _dict_to_jsonable(value: Mapping[Any, Any]) -> Dict[str, Any]:
    if TAG in value or _looks_legacy(value) or not all(isinstance(key, str) for key in value):
        return _tagged("dict", [[to_jsonable(key), to_jsonable(item)] for key, item in value.items()])
    return {key: to_jsonable(item) for key, item in value.items()}


def _other_to_jsonable(value: Any) -> Any:
    """Subclasses of the JSON types, and the types JSON cannot carry."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [to_jsonable(item) for item in value]
    for name, cls in _MULTIDICTS:
        if isinstance(value, cls):
            return _tagged(name, [[key, to_jsonable(item)] for key, item in value.items(multi=True)])
    if isinstance(value, dict):
        return _dict_to_jsonable(value)
    if isinstance(value, tuple):
        return _tagged("tuple", [to_jsonable(item) for item in value])
    if isinstance(value, (set, frozenset)):
        name = "frozenset" if isinstance(value, frozenset) else "set"
        return _tagged(name, [to_jsonable(item) for item in value])
    if isinstance(value, datetime.datetime):
        return _tagged("datetime", value.isoformat())
    if isinstance(value, datetime.date):
        return _tagged("date", value.isoformat())
    if isinstance(value, bytes):
        return _tagged("bytes", base64.b64encode(value).decode("ascii"))
    raise UnsupportedType(value)


def _pairs(cls: Callable[[List[Tuple[Any, Any]]], Any]) -> Callable[[Any], Any]:
    return lambda value: cls([(key, from_jsonable(item)) for key, item in value])


_DECODERS: Dict[str, Callable[[Any], Any]] = {
    "dict": lambda value: {_hashable(from_jsonable(key)): from_jsonable(item) for key, item in value},
    "tuple": lambda value: tuple(from_jsonable(item) for item in value),
    "set": lambda value: set(_hashable(from_jsonable(item)) for item in value),
    "frozenset": lambda value: frozenset(_hashable(from_jsonable(item)) for item in value),
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "bytes": lambda value: base64.b64decode(value.encode("ascii"), validate=True),
}
_DECODERS.update((name, _pairs(cls)) for name, cls in _MULTIDICTS)

_LEGACY_DECODERS: Dict[str, Callable[[Any], Any]] = {
    "datetime_isoformat": datetime.datetime.fromisoformat,
    "date_isoformat": datetime.date.fromisoformat,
    "set": set,
}


def _looks_legacy(value: Mapping[Any, Any]) -> bool:
    return len(value) == 2 and LEGACY_TAG in value and "value" in value


def _from_legacy(value: Mapping[str, Any]) -> Any:
    decoder = _LEGACY_DECODERS.get(value[LEGACY_TAG])
    if decoder is None:  # an ordinary dict that happens to look like a tag
        return {key: from_jsonable(item) for key, item in value.items()}
    try:
        return decoder(from_jsonable(value["value"]))
    except (TypeError, ValueError) as error:
        raise CorruptData("bad legacy %s value: %s" % (value[LEGACY_TAG], error))


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict, set)):
        raise CorruptData("unhashable %s used as a key" % type(value).__name__)
    return value


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable`."""
    if isinstance(value, list):
        return [from_jsonable(item) for item in value]
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        if _looks_legacy(value):
            return _from_legacy(value)
        return {key: from_jsonable(item) for key, item in value.items()}
    decoder = _DECODERS.get(value[TAG])
    if decoder is None or set(value) != {TAG, "value"}:
        raise CorruptData("unknown type tag %r" % (value[TAG],))
    try:
        return decoder(value["value"])
    except CorruptData:
        raise
    except (TypeError, ValueError, AttributeError) as error:
        raise CorruptData("bad %s value: %s" % (value[TAG], error))


# Built once: json.dumps with arguments builds a new encoder at each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def _refuse(value: Any) -> NoReturn:
    raise UnsupportedType(value)


def _c_encoder() -> Optional[Callable[[Any, int], Iterable[str]]]:
    """The C encoder behind ``_ENCODER``, made once: ``JSONEncoder.encode``
    makes it again at every call, a third of a small session's encoding.
    Same output (ASCII, sorted keys); no cycle check, as only values that
    :func:`_is_json` walked to the end reach it. None where the C
    accelerator is missing or its signature changed."""
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        escape = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
        return make and make(
            None,
            _refuse,
            escape,
            None,
            ":",
            ",",
            True,
            False,
            True,
        )
    except TypeError:
        return None


_C_ENCODER = _c_encoder()


def _as_json(body: Mapping[str, Any]) -> str:
    return "".join(_C_ENCODER(body, 0)) if _C_ENCODER else _ENCODER.encode(body)


def _is_json(value: Any) -> bool:
    """Is ``value`` made of JSON's own types only, so that JSON keeps it as
    it is (no tuple, no dict with other keys than text or that could be
    mistaken for a tag, no subclass)? Checking is cheaper than rebuilding
    with :func:`to_jsonable`, and almost every session passes."""
    kind = type(value)
    if kind in _AS_IS:
        return True
    if kind is dict:
        if TAG in value or LEGACY_TAG in value:
            return False
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _AS_IS and not _is_json(item)):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _AS_IS and not _is_json(item):
                return False
        return True
    return False


def encode_session(data: Mapping[Any, Any]) -> bytes:
    """Session dict -> JSON bytes.

    A key whose value cannot be stored is left out, with an error naming it:
    one odd value must not cost the user the whole session.
    """
    try:
        for key, value in data.items():
            if type(key) is not str or (type(value) not in _AS_IS and not _is_json(value)):
                break
        else:  # JSON as it is: the common case
            return _as_json(data).encode("utf-8")
    except RecursionError:
        pass
    try:
        body = {key: to_jsonable(value) for key, value in data.items() if type(key) is str}
    except (UnsupportedType, RecursionError):
        body = None
    if body is None or len(body) != len(data):
        body = _storable_part(data)
    return _as_json(body).encode("utf-8")


def _storable_part(data: Mapping[Any, Any]) -> Dict[str, Any]:
    """The JSON-ready keys of ``data``, logging each one left out."""
    body: Dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            _logger.error("session key %r not saved: session keys must be text", key)
            continue
        try:
            body[key] = to_jsonable(value)
        except UnsupportedType as error:
            _logger.error(
                "session key %r not saved: values of type %s cannot be stored", key, error.type_name
            )
        except RecursionError:
            _logger.error("session key %r not saved: nested too deeply", key)
    return body


def decode_session(raw: Union[bytes, str]) -> Dict[str, Any]:
    """JSON bytes -> session dict; :class:`CorruptData` for anything else."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        body = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CorruptData("not JSON: %s" % error)
    if not isinstance(body, dict) or TAG in body:
        raise CorruptData("not a JSON object but %s" % type(body).__name__)
    if _TAG_TEXT not in text and _LEGACY_TAG_TEXT not in text:
        return body  # no tagged value anywhere: plain JSON is the session as it is
    try:
        return from_jsonable(body)
    except RecursionError:
        raise CorruptData("nested too deeply")
