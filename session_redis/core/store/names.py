"""How a store names its sessions in Redis: keys, index entries, forms.

A session's *entry* is what names it in its key and in the indexes: its
id, or with hashing its SHA-256 (see :func:`~..layout.hashed_id`), so
that a copy of Redis logs nobody in. A session may still live under its
other form (hashing switched on or off since it was written) or, with a
prefix, under camptocamp's older key: :meth:`Names.keys` lists them all,
so that every way a session ends deletes them all. Nothing here sends
anything to Redis.
"""

import re
from typing import List, Optional, Pattern, Tuple

from ..layout import (
    HASHED_ID,
    activity_key,
    device_index_key,
    hashed_id,
    legacy_session_key,
    session_key,
    user_index_key,
)

# Session ids as Odoo 11 to 17 make them (werkzeug's own pattern ends with
# "$", which also accepts a trailing newline: ids are always fullmatched).
HEX_ID = re.compile(r"[a-f0-9]{40}")

Owner = Tuple[str, int]  # (database, user id) of a logged-in session


class Names:
    """The naming scheme of one store: the form of its ids
    (``id_pattern``; ``identifier_length`` leading characters name a
    device, 0: none), its ``prefix`` and whether ids are hashed at rest."""

    __slots__ = ("id_pattern", "identifier_length", "prefix", "hash_ids")

    def __init__(self, id_pattern: Pattern, identifier_length: int, prefix: str, hash_ids: bool) -> None:
        self.id_pattern = id_pattern
        self.identifier_length = identifier_length
        self.prefix = prefix
        self.hash_ids = hash_ids

    def is_id(self, text: object) -> bool:
        """Is ``text`` a session id of this store's kind?"""
        return isinstance(text, str) and self.id_pattern.fullmatch(text) is not None

    def is_entry(self, text: object) -> bool:
        """Is ``text`` an entry of this store's kind, in either form?"""
        return self.is_id(text) or (isinstance(text, str) and HASHED_ID.fullmatch(text) is not None)

    def entry(self, sid: str) -> str:
        """What names session ``sid`` in its key and in the indexes."""
        return hashed_id(sid) if self.hash_ids else sid

    def same(self, entry: str, sid: str) -> bool:
        """Does ``entry``, in either form, name session ``sid``?"""
        return entry == sid or entry == hashed_id(sid)

    def key(self, sid: str) -> str:
        """The key session ``sid`` is written under."""
        return session_key(self.entry(sid), self.prefix)

    def keys(self, entry: str) -> List[str]:
        """Every key the session named by ``entry`` may live under, the one
        it is written under first: an id's other form and, with a prefix,
        the older module's key; a hash names one key only."""
        if not self.is_id(entry):
            return [session_key(entry, self.prefix)]
        keys = [self.key(entry), session_key(entry if self.hash_ids else hashed_id(entry), self.prefix)]
        if self.prefix:
            keys.append(legacy_session_key(entry, self.prefix))
        return keys

    def fallback_keys(self, sid: str) -> List[str]:
        """Where a lookup of ``sid`` looks when its own key is missing: with
        hashing, its plain key (hashing switched on since it was written:
        nobody is logged out); with a prefix, the older module's key. Each
        costs a miss one more ``GET``. Without hashing, hashed keys are not
        read, so that the default costs a miss nothing more."""
        keys = [session_key(sid, self.prefix)] if self.hash_ids else []
        if self.prefix:
            keys.append(legacy_session_key(sid, self.prefix))
        return keys

    def activity_key(self, sid: str) -> str:
        """Where session ``sid``'s last activity is recorded."""
        return activity_key(self.entry(sid), self.prefix)

    def activity_keys(self, entry: str) -> List[str]:
        """The activity records the session named by ``entry`` may have."""
        keys = [activity_key(entry, self.prefix)]
        if self.is_id(entry):
            keys.append(activity_key(hashed_id(entry), self.prefix))
        return keys

    def other_activity_key(self, sid: str) -> str:
        """Session ``sid``'s activity record under the form it is not written in."""
        return activity_key(sid if self.hash_ids else hashed_id(sid), self.prefix)

    def is_identifier(self, identifier: object) -> bool:
        """Is ``identifier`` the leading part of an id of this store's kind?"""
        length = self.identifier_length
        return (
            bool(length)
            and isinstance(identifier, str)
            and len(identifier) == length
            and self.id_pattern.fullmatch(identifier + "A" * length) is not None
        )

    def identifier_of(self, sid: str) -> Optional[str]:
        """The device identifier of session ``sid`` (None: ids name no device)."""
        return sid[: self.identifier_length] if self.identifier_length else None

    def user_index(self, db: str, uid: int) -> str:
        """The index of user ``uid``'s sessions in ``db``."""
        return user_index_key(db, uid, self.prefix)

    def device_indexes(self, identifier: str) -> List[str]:
        """The device indexes of ``identifier``: the one of its hash and the
        plain one (both are read, as both forms of a session's key)."""
        return [
            device_index_key(hashed_id(identifier), self.prefix),
            device_index_key(identifier, self.prefix),
        ]

    def indexes_of(self, entry: str, owner: Owner, every_form: bool = False) -> List[Tuple[str, str]]:
        """``(index, member)`` for each index that lists the session named by
        ``entry``, owned by ``owner``: its user's and, where ids name
        devices, its identifier's (by hash with hashing). With
        ``every_form``, those of an id's both forms, for a session that
        ends or moves. A hash names no device: a session ended by its hash
        leaves its device entry, which lists a key that is gone."""
        user_index = self.user_index(*owner)
        if not self.is_id(entry):
            return [(user_index, entry)]
        entries = []
        for hashed in (True, False) if every_form else (self.hash_ids,):
            member = hashed_id(entry) if hashed else entry
            entries.append((user_index, member))
            if self.identifier_length:
                identifier = entry[: self.identifier_length]
                device = hashed_id(identifier) if hashed else identifier
                entries.append((device_index_key(device, self.prefix), member))
        return entries


def short_id(entry: str) -> str:
    """How logs, the operator command and the sessions views name a session:
    12 hexadecimal characters of the hash of its id, which no client can
    present (the id itself, even in part, is a credential). With hashing,
    they start its key's name."""
    hashed = entry if HASHED_ID.fullmatch(entry) else hashed_id(entry)
    return hashed[:12]


def short_hash(entry: str) -> str:
    """A session's :func:`short_id` as logs show it."""
    return "#" + short_id(entry)
