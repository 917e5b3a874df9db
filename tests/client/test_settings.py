from __future__ import annotations

import pickle

import pytest

from resources.env_setting import env_setting
from resources.file_modes import current_modes, parse_file_mode
from resources.pii_policy import policy_actions
from resources.settings import ConfigError, DefinitionSettings, Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.api_base_url == "https://api.meeting.qq.com"
    assert s.oauth_base_url == "https://meeting.tencent.com"
    assert s.route_limits["/v1/corp/records"] == 10 and s.per_minute_limit == 300
    assert s.timezone == "Asia/Shanghai" and s.max_workers == 4 and s.secret is None


def test_plain_http_only_to_loopback() -> None:
    for host in ("http://127.0.0.1:9000", "http://localhost:1", "http://[::1]:8080", "http://127.5.5.5"):
        assert Settings.from_env({"TMEET_API_BASE_URL": host}).api_base_url == host
    with pytest.raises(ConfigError, match="TMEET_API_BASE_URL"):
        Settings.from_env({"TMEET_API_BASE_URL": "http://example.com"})
    with pytest.raises(ConfigError, match="TMEET_REDIRECT_URI"):
        Settings.from_env({"TMEET_REDIRECT_URI": "http://evil.example/cb"})


@pytest.mark.parametrize(
    ("variable", "value", "fix"),
    [
        ("TMEET_AUTH_MODE", "jwt", "set it to 'oauth'"),
        ("TMEET_APP_TYPE", "team", "set it to 'account'"),
        ("TMEET_TIMEZONE", "Mars/Base", "is not an IANA time zone; set it to e.g. Asia/Shanghai"),
        ("TMEET_PER_MINUTE_LIMIT", "lots", "is not a whole number; set it to e.g. 300"),
        ("TMEET_MAX_WORKERS", "0", "must be at least 1; set it to e.g. 4"),
        ("TMEET_CONNECT_TIMEOUT", "-1", "must be positive; set it to e.g. 10"),
        ("TMEET_READ_TIMEOUT", "slow", "is not a number"),
        ("TMEET_LOOKBACK_DAYS", "45", "must be at most 30; set it to e.g. 14"),
        ("TMEET_START_DATE", "last year", "is not a date (YYYY-MM-DD); set it to e.g. 2025-01-01"),
        ("TMEET_ROUTE_LIMITS", "/v1/corp/records", "not ROUTE=LIMIT"),
        ("TMEET_FILE_MODE", "world", "'private'"),
        ("TMEET_PII_POLICY", "email=zap", "keep, hash, drop"),
        ("TMEET_PUBLISH_INTERVAL_SECONDS", "5", "must be at least 30"),
        ("TMEET_RUN_QUEUE_TIMEOUT_SECONDS", "-5", "must be at least 0"),
        ("TMEET_FRESHNESS_GRACE_HOURS", "48", "must be at most 47"),
        ("TMEET_STEP_RETRIES", "-1", "must be at least 0"),
        ("TMEET_PII_SALT", "short", "at least 16 characters; generate one with `openssl rand -hex 32`"),
        ("TMEET_QUOTA_URL", "mysql://db/quota", "postgresql://"),
        ("TMEET_LAKE_URL", "gs://bucket/lake", "use s3://bucket/prefix"),
    ],
)
def test_each_error_names_the_variable_and_the_fix(variable: str, value: str, fix: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({variable: value})
    assert variable in str(exc.value) and fix in str(exc.value)


def test_every_wrong_setting_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"TMEET_MAX_WORKERS": "many", "TMEET_TIMEZONE": "Nowhere"})
    assert "TMEET_MAX_WORKERS" in str(exc.value) and "TMEET_TIMEZONE" in str(exc.value)


def test_secrets_hidden_everywhere() -> None:
    s = Settings.from_env({"TMEET_SECRET": "CANARY-secret-1234", "TMEET_SECRET_KEY": "CANARY-sk-5678",
                           "TMEET_TOKEN_KEY": "CANARY-key"})
    assert "CANARY" not in repr(s) and "CANARY" not in str(s) and "CANARY" not in f"{s.secret}"
    assert s.secret is not None and s.secret.get_secret_value() == "CANARY-secret-1234"
    # Settings travel to spawned worker processes by pickle; the value must survive the trip.
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(ConfigError, match="TMEET_SECRET_ID"):
        Settings.from_env({"TMEET_AUTH_MODE": "aksk"}).require_for_client()


def test_values_are_stripped_and_empty_means_unset() -> None:
    s = Settings.from_env({"TMEET_SDK_ID": " sdk-1 \n", "TMEET_MAX_WORKERS": "", "TMEET_AUTH_MODE": "AKSK"})
    assert (s.sdk_id, s.max_workers, s.auth_mode) == ("sdk-1", 4, "aksk")


def test_route_limits_add_to_the_documented_ones() -> None:
    s = Settings.from_env({"TMEET_ROUTE_LIMITS": "/v1/corp/users=20, /v1/corp/records=5"})
    assert s.route_limits == {"/v1/corp/records": 5, "/v1/corp/user-roles": 10, "/v1/corp/users": 20}


def test_keyword_values_win_over_the_environment() -> None:
    s = Settings.from_env({"TMEET_TIMEZONE": "UTC", "TMEET_MAX_WORKERS": "2"}, max_workers=9)
    assert (s.timezone, s.max_workers) == ("UTC", 9)


def test_the_process_environment_is_read_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMEET_TIMEZONE", "Europe/Berlin")
    assert Settings.from_env().timezone == "Europe/Berlin"
    monkeypatch.setenv("TMEET_TIMEZONE", "America/New_York")
    assert DefinitionSettings.from_env().timezone == "America/New_York"


def test_no_dotenv_is_read_behind_the_command_line(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TMEET_SDK_ID", raising=False)
    (tmp_path / ".env").write_text("TMEET_SDK_ID=from-dotenv\n")
    assert Settings.from_env().sdk_id == ""


def test_storage_reads_its_settings_through_the_model_when_it_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lake, the archive and the file modes have no Settings at hand: they ask the model at use
    # time, so a value set after import counts and a wrong one is refused with the variable named.
    monkeypatch.delenv("TMEET_FILE_MODE", raising=False)
    monkeypatch.delenv("TMEET_PII_POLICY", raising=False)
    assert current_modes() == parse_file_mode("private")
    assert policy_actions() == {}
    monkeypatch.setenv("TMEET_FILE_MODE", "group-read")
    monkeypatch.setenv("TMEET_PII_POLICY", "email=hash")
    monkeypatch.setenv("TMEET_LAKE_URL", "s3://bucket/lake")
    assert current_modes() == parse_file_mode("group-read")
    assert policy_actions() == {"email": "hash"}
    assert env_setting("lake_url") == "s3://bucket/lake"
    monkeypatch.setenv("TMEET_FILE_MODE", "world")
    with pytest.raises(ConfigError, match="TMEET_FILE_MODE"):
        current_modes()
