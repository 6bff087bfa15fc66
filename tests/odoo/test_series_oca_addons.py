"""OCA addons that touch sessions, with the store on Odoo 16 to 19: their
wheels from PyPI (requirements-oca16plus.txt), installed together on a copy
of the series' database, and what each does to a session checked over two
nodes sharing Redis, with two nodes on files as the control where the
point is sharing. (auth_session_timeout has a file of its own; the addons'
own tests run with files and with Redis in ``tools/compat-oca``, ``make
compat``.)

- ``auth_saml`` (16-19): a SAML login (the addon's own test IdP, run in the
  series' Python) started on one node and answered on the other is a
  session on both; with files, only on the node that took the answer.
- ``auth_jwt`` (16-18): a bearer call answers on both nodes and leaves no
  session in Redis; the same call carrying a logged-in session's cookie is
  refused (the addon refuses a JWT route inside a user session) on the
  other node too, which only the shared store can tell it: with files the
  other node answers.
- ``auth_api_key`` (16-19): a call with its key answers on both nodes and
  leaves no session in Redis; a wrong key is refused.
- ``web_session_auto_close`` (18): ``/web/session/get_timeout`` answered on
  the other node, ``/web/session/destroy`` there ends the session on both.
- ``base_rest`` (16, 18): a service called with the cookie of a login on
  the other node answers as that user; with files it refuses.
- ``auth_totp_ip_check`` (16, 18) is installed with the others (every node
  loads it); its second-factor skip for trusted networks is not called here.

auth_api_key, auth_jwt and base_rest have no route or service of their own:
the tests' addons in ``tests/odoo_addons`` declare one each.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time

import pytest
import requests

from tests.support.odoo_test_runs import oca_addons
from tests.support.servers import (
    REPO,
    SERIES,
    TEST_ADDONS,
    NodeFactory,
    copy_of,
    drop_database,
    free_port,
    start_together,
)

ADDONS_PATH = REPO + "," + TEST_ADDONS
# not installed here: auth_session_timeout has a file of its own
NOT_HERE = {"auth_session_timeout"}
ROUTES = {
    "auth_api_key": "session_redis_api_key_route",
    "auth_jwt": "session_redis_jwt_route",
    "base_rest": "session_redis_rest_route",
}
SAML_USER = "test@example.com"  # whom the addon's test IdP logs in
JWT_SECRET = "session_redis test secret 0123456789abcdefghijklmnopqrstuvwxyz"
JWT_ROUTE = "/session_redis_test/jwt/whoami"
API_KEY = "session-redis-test-key-0123456789"
API_KEY_ROUTE = "/session_redis_test/api_key/whoami"
REST_ROUTE = "/session_redis_test/rest/whoami/"
SAML_IDP = os.path.join(REPO, "tests", "support", "saml_idp.py")

SETUP = """
import base64, json, os
made = {}
admin = env.ref("base.user_admin")
if "auth.saml.provider" in env:
    from odoo.addons.auth_saml.tests import fake_idp
    data = os.path.join(os.path.dirname(fake_idp.__file__), "data")
    def encoded(name):
        with open(os.path.join(data, name), "rb") as handle:
            return base64.b64encode(handle.read())
    provider = env["auth.saml.provider"].create({
        "name": "Test IdP",
        "idp_metadata": fake_idp.FakeIDP().get_metadata(),
        "sp_pem_public": encoded("sp.pem"),
        "sp_pem_private": encoded("sp.key"),
        "body": "Test IdP",
        "sig_alg": "SIG_RSA_SHA1",
        "matching_attribute": "mail",
        # one address for the service provider, whichever node answers
        "sp_baseurl": "http://odoo.test",
    })
    env["res.users"].create({
        "name": "SAML user",
        "login": %(saml_user)r,
        "saml_ids": [(0, 0, {"saml_provider_id": provider.id, "saml_uid": %(saml_user)r})],
    })
    made["saml_provider"] = provider.id
if "auth.jwt.validator" in env:
    env["auth.jwt.validator"].create({
        "name": "session_redis_test",
        "signature_type": "secret",
        "secret_algorithm": "HS256",
        "secret_key": %(jwt_secret)r,
        "audience": "session_redis_test",
        "issuer": "session_redis_test",
        "user_id_strategy": "static",
        "static_user_id": admin.id,
    })
if "auth.api.key" in env:
    env["auth.api.key"].create({"name": "session_redis_test", "user_id": admin.id, "key": %(api_key)r})
env.cr.commit()
print("SETUP " + json.dumps(made))
""" % {"saml_user": SAML_USER, "jwt_secret": JWT_SECRET, "api_key": API_KEY}


def series_with(addon):
    return [series for series in SERIES if addon in oca_addons(series)]


@pytest.fixture(scope="module")
def oca_database(series, series_database, redis_server, tmp_path_factory):
    """A copy of the series' database with its OCA addons (and the tests'
    routes) installed with the store on, a SAML provider, a JWT validator
    and an API key; ``(database, {"saml_provider": id})``."""
    addons = sorted(set(oca_addons(series)) - NOT_HERE)
    addons += [ROUTES[addon] for addon in sorted(ROUTES) if addon in addons]
    database = copy_of(series_database(series))
    folder = str(tmp_path_factory.mktemp("oca-" + series))
    try:
        factory = NodeFactory(database, redis_server, folder, series=series, addons_path=ADDONS_PATH)
        installer = factory("install", start=False)
        installed = installer.run(
            "-i", ",".join(addons), "--stop-after-init", "--http-port=%d" % free_port(), timeout=600
        )
        assert installed.returncode == 0, installed.stdout[-3000:]
        output = installer.shell(SETUP)
        lines = [line for line in output.splitlines() if line.startswith("SETUP ")]
        assert lines, output[-3000:]
        yield database, json.loads(lines[-1][len("SETUP ") :])
    finally:
        drop_database(database.name)


@pytest.fixture(scope="module")
def oca_nodes(series, oca_database, redis_server, tmp_path_factory):
    """Nodes a and b with the store on, two more with files."""
    folder = str(tmp_path_factory.mktemp("oca-nodes-" + series))
    factory = NodeFactory(oca_database[0], redis_server, folder, series=series, addons_path=ADDONS_PATH)
    made = [
        factory(name, redis=not name.startswith("files"), start=False)
        for name in ("a", "b", "files-a", "files-b")
    ]
    try:
        yield start_together(*made)
    finally:
        factory.stop_all()


def saml_login(series, start, answer, provider, database):
    """Ask ``start`` for the IdP's address, let the test IdP log the user in,
    post its answer to ``answer``; the session id ``answer`` hands back."""
    asked = requests.get(
        start.url + "/auth_saml/get_auth_request", params={"pid": provider}, allow_redirects=False, timeout=30
    )
    assert asked.status_code in (302, 303), asked.text[:2000]
    metadata = requests.get(
        start.url + "/auth_saml/metadata", params={"p": provider, "d": database}, timeout=30
    )
    assert metadata.status_code == 200, metadata.text[:2000]
    idp = subprocess.run(
        [os.path.join(REPO, ".venv-" + series, "bin", "python"), SAML_IDP],
        input=json.dumps({"metadata": metadata.text, "url": asked.headers["Location"]}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=120,
    )
    assert idp.returncode == 0, idp.stderr[-3000:]
    signed_in = requests.post(
        answer.url + "/auth_saml/signin", data=json.loads(idp.stdout), allow_redirects=False, timeout=30
    )
    assert signed_in.status_code in (302, 303), signed_in.text[:2000]
    assert "saml_error" not in signed_in.headers["Location"], signed_in.headers["Location"]
    return signed_in.cookies["session_id"]


@pytest.mark.parametrize("series", series_with("auth_saml"), scope="module")
def test_a_saml_login_answered_on_one_node_is_a_session_on_the_other(series, oca_nodes, oca_database):
    a, b, files_a, files_b = oca_nodes
    database, made = oca_database
    sid = saml_login(series, a, b, made["saml_provider"], database.name)
    assert b.session_info(sid)["username"] == SAML_USER
    assert a.session_info(sid)["username"] == SAML_USER
    # the control: with files, the session is on the node that took the answer only
    sid = saml_login(series, files_a, files_b, made["saml_provider"], database.name)
    assert files_b.session_info(sid)["username"] == SAML_USER
    assert files_a.session_info(sid) is None


def jwt_token(secret, **claims):
    """An HS256 JSON Web Token (RFC 7519) of ``claims``."""

    def part(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signed = part(b'{"alg":"HS256","typ":"JWT"}') + b"." + part(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return (signed + b"." + part(signature)).decode()


def session_keys(redis_client):
    return sorted(redis_client.scan_iter(count=1000))


@pytest.mark.parametrize("series", series_with("auth_jwt"), scope="module")
def test_a_jwt_bearer_call_keeps_no_session_and_sees_the_shared_one(series, oca_nodes, redis_client):
    a, b, files_a, files_b = oca_nodes
    token = jwt_token(
        JWT_SECRET, aud="session_redis_test", iss="session_redis_test", exp=int(time.time()) + 600
    )
    bearer = {"Authorization": "Bearer " + token}
    before = session_keys(redis_client)
    for node in (a, b):
        answer = requests.get(node.url + JWT_ROUTE, headers=bearer, timeout=30)
        assert answer.status_code == 200, answer.text[:2000]
        assert answer.json()["login"] == "admin"
    assert session_keys(redis_client) == before
    # auth_jwt refuses a JWT route inside a user session: the other node
    # knows the session only through the shared store
    for first, second, shared in ((a, b, True), (files_a, files_b, False)):
        sid = first.login()
        answer = requests.get(second.url + JWT_ROUTE, headers=bearer, cookies={"session_id": sid}, timeout=30)
        assert answer.status_code == (401 if shared else 200), (
            shared,
            answer.status_code,
            answer.text[:2000],
        )


@pytest.mark.parametrize("series", series_with("auth_api_key"), scope="module")
def test_an_api_key_call_answers_on_every_node_and_keeps_no_session(series, oca_nodes, redis_client):
    a, b = oca_nodes[:2]
    before = session_keys(redis_client)
    for node in (a, b):
        answer = requests.get(node.url + API_KEY_ROUTE, headers={"API-KEY": API_KEY}, timeout=30)
        assert answer.status_code == 200, answer.text[:2000]
        assert answer.json()["login"] == "admin"
        refused = requests.get(node.url + API_KEY_ROUTE, headers={"API-KEY": "wrong"}, timeout=30)
        assert refused.status_code == 403, refused.text[:2000]  # as the addon's own tests expect
    assert session_keys(redis_client) == before


@pytest.mark.parametrize("series", series_with("base_rest"), scope="module")
def test_a_rest_service_answers_with_the_session_of_a_login_on_the_other_node(series, oca_nodes):
    a, b, files_a, files_b = oca_nodes
    for first, second, shared in ((a, b, True), (files_a, files_b, False)):
        sid = first.login()
        answer = requests.get(second.url + REST_ROUTE, cookies={"session_id": sid}, timeout=30)
        if shared:
            assert answer.status_code == 200, answer.text[:2000]
            assert answer.json()["login"] == "admin"
        else:
            assert answer.status_code == 401, answer.text[:2000]  # base_rest's answer to no session


@pytest.mark.parametrize("series", series_with("web_session_auto_close"), scope="module")
def test_auto_close_destroys_the_session_on_every_node(series, oca_nodes):
    a, b = oca_nodes[:2]
    sid = a.login()
    timeout = b.json("/web/session/get_timeout", session_id=sid).json()
    assert timeout.get("result") == 600000, timeout  # the addon's default (ms), read on the other node
    assert b.json("/web/session/destroy", session_id=sid).status_code == 200
    assert a.session_info(sid) is None and b.session_info(sid) is None
