"""Filesystem -> Redis copy and purge, on real files and a real Redis."""

import datetime
import os
import pickle

import pytest
from odoo.http import OpenERPSession
from werkzeug.contrib.sessions import FilesystemSessionStore

from session_redis.core import fs_sessions
from session_redis.core.fs_sessions import copy_fs_sessions, purge_fs_sessions
from session_redis.core.layout import legacy_session_key
from session_redis.core.store import RedisSessionStore, short_hash


@pytest.fixture
def folder(tmp_path):
    return str(tmp_path)


@pytest.fixture
def fs_store(folder):
    """Odoo 11's own store, writing the files it writes."""
    return FilesystemSessionStore(folder, session_class=OpenERPSession)


@pytest.fixture
def store(redis_client):
    return RedisSessionStore(
        redis_client, OpenERPSession, prefix="p", expiration=1000, expiration_anonymous=100
    )


def fs_session(fs_store, **data):
    session = fs_store.new()
    session.update(data)
    fs_store.save(session)
    return session.sid


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_every_readable_file_is_copied_with_its_data_and_ttl(fs_store, store, folder, redis_client, batch):
    user = fs_session(fs_store, uid=2, login="admin", db="prod", when=datetime.date(2026, 1, 2))
    anonymous = [fs_session(fs_store, db="prod") for _ in range(4)]
    result = copy_fs_sessions(folder, store, batch=batch)
    assert result == (5, 0, 0, 0)
    back = store.get(user)
    assert (back.uid, back.login, back.when) == (2, "admin", datetime.date(2026, 1, 2))
    assert 995 <= redis_client.ttl(store.key(user)) <= 1000
    assert all(90 <= redis_client.ttl(store.key(sid)) <= 100 for sid in anonymous)
    assert sorted(store.list()) == sorted([user] + anonymous)


def test_unreadable_files_are_skipped_with_a_warning(fs_store, store, folder, caplog):
    good = fs_session(fs_store, uid=2)
    for name, content in [("b" * 40, b"garbage"), ("c" * 40, pickle.dumps([1, 2])), ("d" * 40, b"")]:
        with open(os.path.join(folder, "werkzeug_%s.sess" % name), "wb") as handle:
            handle.write(content)
    result = copy_fs_sessions(folder, store)
    assert (result.copied, result.unreadable) == (1, 3)
    assert store.list() == [good]
    assert caplog.text.count("skipped the unreadable file of session #") == 3
    assert "skipped the unreadable file of session %s: UnpicklingError" % short_hash("b" * 40) in caplog.text
    assert not any(letter * 8 in caplog.text for letter in "bcd")  # logs show a hash of the id only


def test_a_file_gone_before_the_purge_deletes_it_is_named_by_a_hash_of_its_id(folder, monkeypatch, caplog):
    sid = "e" * 40
    path = os.path.join(folder, "werkzeug_%s.sess" % sid)
    open(path, "wb").close()
    listed = list(fs_sessions.session_files(folder))
    os.unlink(path)  # another node's purge got there first
    monkeypatch.setattr(fs_sessions, "session_files", lambda _folder: iter(listed))
    assert purge_fs_sessions(folder) == 0
    assert (
        "could not delete the file of session %s: No such file or directory" % short_hash(sid) in caplog.text
    )
    assert sid[:8] not in caplog.text


def test_sessions_already_in_redis_are_not_overwritten(fs_store, store, folder):
    sid = fs_session(fs_store, uid=2, login="old")
    store.save(OpenERPSession({"uid": 2, "login": "newer"}, sid, False))
    fs_session(fs_store, uid=3)
    assert copy_fs_sessions(folder, store) == (1, 1, 0, 0)
    assert store.get(sid).login == "newer"


def test_a_session_under_the_older_modules_key_is_not_copied_again(fs_store, store, folder, redis_client):
    sid = fs_session(fs_store, uid=2, login="old")
    redis_client.set(legacy_session_key(sid, "p"), b'{"uid": 2, "login": "newer"}', ex=100)
    assert copy_fs_sessions(folder, store) == (0, 1, 0, 0)
    assert store.get(sid).login == "newer" and store.list() == [sid]


def test_sessions_over_the_size_limit_are_not_copied(fs_store, folder, redis_client, caplog):
    store = RedisSessionStore(redis_client, OpenERPSession, max_size=2048)
    small = fs_session(fs_store, uid=2)
    fs_session(fs_store, uid=3, note="x" * 5000)
    assert copy_fs_sessions(folder, store) == (1, 0, 0, 1)
    assert store.list() == [small] and "not copied" in caplog.text


def test_other_files_are_ignored(store, folder):
    for name in ("werkzeug_%s.file" % ("a" * 40), "notes.txt", "werkzeug_xyz.sess"):
        open(os.path.join(folder, name), "w").close()
    assert copy_fs_sessions(folder, store) == (0, 0, 0, 0)
    assert purge_fs_sessions(folder) == 0
    assert len(os.listdir(folder)) == 3


def test_purge_deletes_every_session_file(fs_store, folder):
    for uid in range(7):
        fs_session(fs_store, uid=uid)
    with open(os.path.join(folder, "werkzeug_%s.sess" % ("e" * 40)), "wb") as handle:
        handle.write(b"unreadable")
    assert purge_fs_sessions(folder) == 8
    assert fs_store.list() == []
