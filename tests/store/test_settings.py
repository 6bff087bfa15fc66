"""Settings: every variable, its default, what it accepts and refuses,
from the environment and from odoo.conf."""

import pytest

from session_redis.core.settings import (
    SPECS,
    STORE_FIELDS,
    SettingError,
    Settings,
    conf_name,
    describe,
    env_name,
    load_settings,
    mask_url,
    masked,
    sentinel_addresses,
)

FULL = {
    "": "1",
    "URL": "redis://r:1/2",
    "HOST": "redis.internal",
    "PORT": "6380",
    "DB": "4",
    "USERNAME": "odoo",
    "PASSWORD": "pw",
    "SSL": "true",
    "SSL_CA_CERTS": __file__,
    "SSL_CERTFILE": __file__,
    "SSL_KEYFILE": __file__,
    "SSL_CERT_REQS": "optional",
    "SENTINEL_HOST": "s1:26380,s2",
    "SENTINEL_PORT": "26381",
    "SENTINEL_MASTER_NAME": "mymaster",
    "SENTINEL_USERNAME": "watcher",
    "SENTINEL_PASSWORD": "spw",
    "CLUSTER": "false",
    "SOCKET_TIMEOUT": "1.5",
    "CONNECT_TIMEOUT": "0.5",
    "PREFIX": "shop",
    "EXPIRATION": "3600",
    "EXPIRATION_ANONYMOUS": "60",
    "SLIDING": "off",
    "TOUCH_INTERVAL": "30",
    "MAX_LIFETIME": "86400",
    "MAX_SIZE": "2048",
    "MAX_SESSIONS_PER_USER": "3",
    "HASH_IDS": "1",
    "ALLOW_EVICTION": "yes",
    "READ_EARLY": "off",
    "ROTATE_ON_LOGIN": "on",
    "COPY_EXISTING_FS_SESSIONS": "true",
    "PURGE_EXISTING_FS_SESSIONS": "yes",
    "METRICS": "on",
    "METRICS_TOKEN": "scrape-me",
}
FULL_SETTINGS = Settings(
    enabled=True,
    url="redis://r:1/2",
    host="redis.internal",
    port=6380,
    db=4,
    username="odoo",
    password="pw",
    ssl=True,
    ssl_ca_certs=__file__,
    ssl_certfile=__file__,
    ssl_keyfile=__file__,
    ssl_cert_reqs="optional",
    sentinel_host=[("s1", 26380), ("s2", None)],
    sentinel_port=26381,
    sentinel_master_name="mymaster",
    sentinel_username="watcher",
    sentinel_password="spw",
    cluster=False,
    socket_timeout=1.5,
    connect_timeout=0.5,
    prefix="shop",
    expiration=3600,
    expiration_anonymous=60,
    sliding=False,
    touch_interval=30,
    max_lifetime=86400,
    max_size=2048,
    max_sessions_per_user=3,
    hash_ids=True,
    allow_eviction=True,
    read_early=False,
    rotate_on_login=True,
    copy_existing_fs_sessions=True,
    purge_existing_fs_sessions=True,
    metrics=True,
    metrics_token="scrape-me",
)


def settings(**variables):
    return load_settings({env_name(k): v for k, v in variables.items()})


def error_of(**variables):
    with pytest.raises(SettingError) as error:
        settings(**variables)
    return str(error.value)


def test_defaults_match_the_readme():
    assert load_settings({}) == Settings(
        enabled=False,
        url=None,
        host="localhost",
        port=6379,
        db=0,
        username=None,
        password=None,
        ssl=False,
        ssl_ca_certs=None,
        ssl_certfile=None,
        ssl_keyfile=None,
        ssl_cert_reqs="required",
        sentinel_host=None,
        sentinel_port=26379,
        sentinel_master_name=None,
        sentinel_username=None,
        sentinel_password=None,
        cluster=False,
        socket_timeout=3.0,
        connect_timeout=2.0,
        prefix="",
        expiration=None,
        expiration_anonymous=None,
        sliding=True,
        touch_interval=60,
        max_lifetime=None,
        max_size=256 * 1024,
        max_sessions_per_user=None,
        hash_ids=False,
        allow_eviction=False,
        read_early=True,
        rotate_on_login=True,
        copy_existing_fs_sessions=False,
        purge_existing_fs_sessions=False,
        metrics=False,
        metrics_token=None,
    )


def test_every_variable_is_read_from_the_environment():
    assert load_settings({env_name(k): v for k, v in FULL.items()}) == FULL_SETTINGS


def test_every_variable_is_read_from_odoo_conf():
    assert load_settings({}, {conf_name(k): v for k, v in FULL.items()}, "odoo.conf") == FULL_SETTINGS


def test_odoo_conf_names():
    assert conf_name("") == "session_redis"
    assert conf_name("EXPIRATION_ANONYMOUS") == "session_redis_expiration_anonymous"
    assert len({conf_name(suffix) for _, suffix, _, _ in SPECS}) == len(SPECS)


def test_environment_wins_over_odoo_conf():
    conf = {"session_redis": True, "session_redis_prefix": "from_file", "session_redis_port": "1"}
    s = load_settings({"ODOO_SESSION_REDIS_PREFIX": "from_env"}, conf, "odoo.conf")
    assert (s.enabled, s.prefix, s.port) == (True, "from_env", 1)


def test_odoo_conf_booleans_as_odoos_parser_gives_them():
    assert load_settings({}, {"session_redis": True, "session_redis_sliding": False}).sliding is False
    assert load_settings({}, {"session_redis": True}).enabled is True


def test_bad_value_in_odoo_conf_names_the_file_and_option():
    with pytest.raises(SettingError) as error:
        load_settings({}, {"session_redis_expiration": "soon"}, "/etc/odoo/odoo.conf")
    assert "session_redis_expiration in /etc/odoo/odoo.conf='soon'" in str(error.value)


def test_password_from_odoo_conf_is_masked():
    with pytest.raises(SettingError) as error:
        load_settings({}, {"session_redis_url": "http://:hunter2@h"}, "odoo.conf")
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "True", "yes", "on", " On "])
def test_switch_on_words(word):
    assert load_settings({"ODOO_SESSION_REDIS": word}).enabled is True


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "off", "", "  "])
def test_switch_off_words(word):
    assert load_settings({"ODOO_SESSION_REDIS": word}).enabled is False


@pytest.mark.parametrize("suffix", [s for _, s, parse, _ in SPECS if parse.__name__ == "parse_flag"])
def test_unknown_boolean_word_names_variable_and_value(suffix):
    assert "%s='ture'" % env_name(suffix) in error_of(**{suffix: "ture"})


def test_empty_value_means_default():
    assert settings(SLIDING="", PORT=" ", PREFIX="").sliding is True


@pytest.mark.parametrize("suffix", ["EXPIRATION", "EXPIRATION_ANONYMOUS", "TOUCH_INTERVAL", "MAX_LIFETIME"])
@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "0", "7d", "1e3"])
def test_bad_seconds_are_refused(suffix, value):
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in error_of(**{suffix: value})


@pytest.mark.parametrize("suffix", ["PORT", "SENTINEL_PORT"])
@pytest.mark.parametrize("value", ["abc", "0", "65536", "-5", "80.0"])
def test_bad_port_is_refused(suffix, value):
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in error_of(**{suffix: value})


@pytest.mark.parametrize("suffix", ["SOCKET_TIMEOUT", "CONNECT_TIMEOUT"])
@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "4000"])
def test_bad_timeout_is_refused(suffix, value):
    message = error_of(**{suffix: value})
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in message
    assert "at most 3600" in message  # the limit the code enforces is the one it names


@pytest.mark.parametrize(
    "suffix, value",
    [
        ("MAX_SIZE", "100"),
        ("MAX_SIZE", "1MB"),
        ("MAX_SESSIONS_PER_USER", "0"),
        ("DB", "-1"),
        ("DB", "one"),
        ("SSL_CERT_REQS", "maybe"),
        ("SSL_CA_CERTS", "/no/such/file"),
        ("SENTINEL_HOST", "a:b"),
        ("SENTINEL_HOST", "a,,b"),
        ("SENTINEL_HOST", "a:70000"),
    ],
)
def test_other_bad_values_are_refused(suffix, value):
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in error_of(**{suffix: value})


def test_sentinel_host_needs_a_master_name():
    assert "ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME" in error_of(SENTINEL_HOST="sentinel")


def test_cluster_and_sentinel_exclude_each_other():
    assert "ODOO_SESSION_REDIS_CLUSTER" in error_of(CLUSTER="1", SENTINEL_HOST="s", SENTINEL_MASTER_NAME="m")


def test_client_certificate_needs_its_key():
    assert "ODOO_SESSION_REDIS_SSL_KEYFILE" in error_of(SSL_CERTFILE=__file__)


def test_sentinel_addresses_fill_in_the_default_port():
    s = settings(SENTINEL_HOST="a:1, b ,c:3", SENTINEL_PORT="9", SENTINEL_MASTER_NAME="m")
    assert sentinel_addresses(s) == [("a", 1), ("b", 9), ("c", 3)]


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "rediss://user:p%40ss@redis.example:6380/3",
        "unix:///run/redis/redis.sock?db=2",
        "redis://:secret@localhost",
    ],
)
def test_good_urls_are_kept(url):
    assert settings(URL=url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379",
        "localhost:6379",
        "redis://localhost:notaport/0",
        "redis://localhost:99999/0",
        "redis://localhost:6379/notadb",
    ],
)
def test_unparsable_url_is_refused(url):
    assert "ODOO_SESSION_REDIS_URL" in error_of(URL=url)


def test_password_in_a_bad_url_is_not_in_the_message():
    message = error_of(URL="redis://user:hunter2@localhost:notaport/0")
    assert "hunter2" not in message
    assert "redis://user:***@localhost:notaport/0" in message


@pytest.mark.parametrize(
    "url, masked",
    [
        ("redis://:hunter2@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:hunter2@host", "rediss://user:***@host"),
        ("redis://user@host", "redis://user@host"),
        ("redis://host:6379", "redis://host:6379"),
        ("redis://u:p@ss@host", "redis://u:***@host"),
        # redis-py reads a password from the query string too
        ("unix:///run/r.sock?db=0&password=hunter2", "unix:///run/r.sock?db=0&password=***"),
        ("redis://host:6379/0?password=hunter2", "redis://host:6379/0?password=***"),
        ("redis://host/0?password=hun@ter2#2&db=1", "redis://host/0?password=***&db=1"),
        ("redis://host/0?pass%77ord=hunter2", "redis://host/0?pass%77ord=***"),
        ("redis://host/0?Password=hunter2;db=1", "redis://host/0?Password=***;db=1"),
        ("redis://u:hunter2@host/0?password=hunter3", "redis://u:***@host/0?password=***"),
        ("redis://host/0?db=1&passwordless", "redis://host/0?db=1&passwordless"),
        ("redis://host/0?client_name=me", "redis://host/0?client_name=me"),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked
    assert "hunter" not in mask_url(url)


def test_a_password_in_the_query_string_is_read_by_redis_py_and_shown_by_nobody():
    from redis.connection import parse_url

    url = "unix:///run/r.sock?db=0&password=hunter2"
    assert parse_url(url)["password"] == "hunter2"  # what masking has to hide
    assert "hunter2" not in describe(settings(URL=url))
    assert "hunter2" not in error_of(URL="unix:///run/r.sock?db=x&password=hunter2")


def test_describe_never_shows_a_password():
    for s in (
        settings(URL="redis://:hunter2@host:1/0", PASSWORD="hunter3"),
        settings(PASSWORD="hunter3", HOST="h", PORT="7"),
        settings(SENTINEL_HOST="s", SENTINEL_MASTER_NAME="m", SENTINEL_PASSWORD="hunter4"),
    ):
        assert "hunter" not in describe(s)
    assert "redis://:***@host:1/0" in describe(settings(URL="redis://:hunter2@host:1/0"))
    assert "sentinels s:26379, master 'm'" in describe(settings(SENTINEL_HOST="s", SENTINEL_MASTER_NAME="m"))


def test_masking_goes_by_the_kind_of_setting_not_by_words_in_its_source():
    """A configuration file whose path says "password" must not hide the
    value of an unrelated option, and the secrets stay hidden."""
    conf_file = "/etc/odoo-password-vault/odoo.conf"
    with pytest.raises(SettingError) as error:
        load_settings({}, {"session_redis_port": "63790x"}, conf_file)
    assert "session_redis_port in %s='63790x' is not valid" % conf_file in str(error.value)
    with pytest.raises(SettingError) as error:
        load_settings({}, {"session_redis_url": "redis://:hunter2@h:port/0"}, conf_file)
    assert "hunter2" not in str(error.value) and "redis://:***@h:port/0" in str(error.value)


def test_the_store_takes_its_parameters_and_their_defaults_from_the_settings():
    from session_redis.core.store import RedisSessionStore

    defaults = load_settings({})
    store = RedisSessionStore.from_settings(None, defaults)
    assert {field: getattr(store, field) for field in STORE_FIELDS} == {
        field: getattr(defaults, field) for field in STORE_FIELDS
    }
    bare = RedisSessionStore(None)
    assert all(getattr(bare, field) == getattr(defaults, field) for field in STORE_FIELDS)
    chosen = load_settings({"ODOO_SESSION_REDIS_PREFIX": "shop", "ODOO_SESSION_REDIS_MAX_LIFETIME": "600"})
    store = RedisSessionStore.from_settings(None, chosen, path="/uploads")
    assert (store.prefix, store.max_lifetime, store.path) == ("shop", 600, "/uploads")


def test_the_metrics_token_is_a_secret():
    assert masked("metrics_token", "scrape-me") == "***"


@pytest.mark.parametrize("prefix", [":shop", "shop:eu", "shop*", "a b", "shop[1]", "x" * 65])
def test_a_prefix_that_could_reach_another_sites_keys_is_refused(prefix):
    # "session::shop:<sid>" is where the older module kept prefix "shop"'s
    # sessions; "shop:eu"'s keys match the ACL pattern of site "shop"
    message = error_of(PREFIX=prefix)
    assert "ODOO_SESSION_REDIS_PREFIX=%r" % prefix in message and "letters, digits" in message


@pytest.mark.parametrize("prefix", ["user", "device"])
def test_the_names_of_the_index_keys_are_no_prefix(prefix):
    assert "index keys" in error_of(PREFIX=prefix)


def test_a_prefix_of_letters_digits_and_dashes_is_taken():
    assert settings(PREFIX=" shop-eu_2.b ").prefix == "shop-eu_2.b"
    assert settings(PREFIX="").prefix == ""
