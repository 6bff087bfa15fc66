"""Settings: every variable, its default, what it accepts and refuses."""
import pytest

from session_redis.settings import Settings, SettingError, describe, load_settings, mask_url


def settings(**variables):
    return load_settings({"ODOO_SESSION_REDIS" + ("_" + k if k else ""): v
                          for k, v in variables.items()})


def test_defaults_match_the_readme():
    s = load_settings({})
    assert s.enabled is False
    assert (s.url, s.host, s.port, s.password) == (None, "localhost", 6379, None)
    assert (s.sentinel_host, s.sentinel_port, s.sentinel_master_name) == (None, 26379, None)
    assert s.prefix == ""
    assert s.expiration == 7 * 24 * 3600
    assert s.expiration_anonymous == 3 * 3600
    assert s.copy_existing_fs_sessions is False
    assert s.purge_existing_fs_sessions is False


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "True", "yes", "on", " On "])
def test_switch_on_words(word):
    assert load_settings({"ODOO_SESSION_REDIS": word}).enabled is True


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "off", "", "  "])
def test_switch_off_words(word):
    assert load_settings({"ODOO_SESSION_REDIS": word}).enabled is False


@pytest.mark.parametrize("suffix", ["", "_COPY_EXISTING_FS_SESSIONS", "_PURGE_EXISTING_FS_SESSIONS"])
def test_unknown_boolean_word_names_variable_and_value(suffix):
    with pytest.raises(SettingError) as error:
        load_settings({"ODOO_SESSION_REDIS" + suffix: "ture"})
    assert "ODOO_SESSION_REDIS%s='ture'" % suffix in str(error.value)


def test_every_value_is_read():
    s = settings(**{"": "1", "HOST": "redis.internal", "PORT": "6380", "PASSWORD": "pw",
                    "PREFIX": "shop", "EXPIRATION": "3600", "EXPIRATION_ANONYMOUS": "60",
                    "COPY_EXISTING_FS_SESSIONS": "true", "PURGE_EXISTING_FS_SESSIONS": "yes",
                    "SENTINEL_HOST": "sentinel", "SENTINEL_PORT": "26380",
                    "SENTINEL_MASTER_NAME": "mymaster", "URL": "redis://r:1/2"})
    assert s == Settings(
        enabled=True, url="redis://r:1/2", host="redis.internal", port=6380, password="pw",
        sentinel_host="sentinel", sentinel_port=26380, sentinel_master_name="mymaster",
        prefix="shop", expiration=3600, expiration_anonymous=60,
        copy_existing_fs_sessions=True, purge_existing_fs_sessions=True)


@pytest.mark.parametrize("suffix", ["EXPIRATION", "EXPIRATION_ANONYMOUS"])
@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "0", "7d", "1e3"])
def test_bad_expiration_is_refused(suffix, value):
    with pytest.raises(SettingError) as error:
        settings(**{suffix: value})
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in str(error.value)


@pytest.mark.parametrize("suffix", ["PORT", "SENTINEL_PORT"])
@pytest.mark.parametrize("value", ["abc", "0", "65536", "-5", "80.0"])
def test_bad_port_is_refused(suffix, value):
    with pytest.raises(SettingError) as error:
        settings(**{suffix: value})
    assert "ODOO_SESSION_REDIS_%s=%r" % (suffix, value) in str(error.value)


def test_sentinel_host_needs_a_master_name():
    with pytest.raises(SettingError) as error:
        settings(SENTINEL_HOST="sentinel")
    assert "ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME" in str(error.value)


@pytest.mark.parametrize("url", [
    "redis://localhost:6379/0",
    "rediss://user:p%40ss@redis.example:6380/3",
    "unix:///run/redis/redis.sock?db=2",
    "redis://:secret@localhost",
])
def test_good_urls_are_kept(url):
    assert settings(URL=url).url == url


@pytest.mark.parametrize("url", [
    "http://localhost:6379",
    "localhost:6379",
    "redis://localhost:notaport/0",
    "redis://localhost:99999/0",
    "redis://localhost:6379/notadb",
])
def test_unparsable_url_is_refused(url):
    with pytest.raises(SettingError) as error:
        settings(URL=url)
    assert "ODOO_SESSION_REDIS_URL" in str(error.value)


def test_password_in_a_bad_url_is_not_in_the_message():
    with pytest.raises(SettingError) as error:
        settings(URL="redis://user:hunter2@localhost:notaport/0")
    assert "hunter2" not in str(error.value)
    assert "redis://user:***@localhost:notaport/0" in str(error.value)


@pytest.mark.parametrize("url, masked", [
    ("redis://:hunter2@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:hunter2@host", "rediss://user:***@host"),
    ("redis://user@host", "redis://user@host"),
    ("redis://host:6379", "redis://host:6379"),
    ("redis://u:p@ss@host", "redis://u:***@host"),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked


def test_describe_never_shows_the_password():
    line = describe(settings(URL="redis://:hunter2@host:1/0", PASSWORD="hunter3"))
    assert "hunter" not in line and "redis://:***@host:1/0" in line
    line = describe(settings(PASSWORD="hunter3", HOST="h", PORT="7"))
    assert "hunter" not in line and "h:7" in line
