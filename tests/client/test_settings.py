from __future__ import annotations

import pytest

from resources.settings import ConfigError, Settings


def test_defaults() -> None:
    s = Settings.from_env({}, dotenv_path=None)
    assert s.api_base_url == "https://api.meeting.qq.com"
    assert s.oauth_base_url == "https://meeting.tencent.com"
    assert s.route_limits["/v1/corp/records"] == 10 and s.per_minute_limit == 300


def test_plain_http_only_to_loopback() -> None:
    for host in ("http://127.0.0.1:9000", "http://localhost:1", "http://[::1]:8080", "http://127.5.5.5"):
        assert Settings.from_env({"TMEET_API_BASE_URL": host}, dotenv_path=None).api_base_url == host
    with pytest.raises(ConfigError, match="TMEET_API_BASE_URL"):
        Settings.from_env({"TMEET_API_BASE_URL": "http://example.com"}, dotenv_path=None)
    with pytest.raises(ConfigError, match="TMEET_REDIRECT_URI"):
        Settings.from_env({"TMEET_REDIRECT_URI": "http://evil.example/cb"}, dotenv_path=None)


def test_errors_name_variable_and_secrets_hidden() -> None:
    with pytest.raises(ConfigError, match="TMEET_AUTH_MODE"):
        Settings.from_env({"TMEET_AUTH_MODE": "jwt"}, dotenv_path=None)
    with pytest.raises(ConfigError, match="TMEET_PER_MINUTE_LIMIT"):
        Settings.from_env({"TMEET_PER_MINUTE_LIMIT": "lots"}, dotenv_path=None)
    s = Settings.from_env({"TMEET_SECRET": "CANARY-secret-1234", "TMEET_SECRET_KEY": "CANARY-sk-5678"},
                          dotenv_path=None)
    assert "CANARY" not in repr(s) and "CANARY" not in str(s) and "CANARY" not in f"{s.secret}"
    with pytest.raises(ConfigError, match="TMEET_SECRET_ID"):
        Settings.from_env({"TMEET_AUTH_MODE": "aksk"}, dotenv_path=None).require_for_client()


def test_dotenv_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / ".env"
    env.write_text("TMEET_SDK_ID=from-dotenv\nTMEET_TIMEZONE=UTC\n")
    s = Settings.from_env({"TMEET_TIMEZONE": "Asia/Shanghai"}, dotenv_path=env)
    assert s.sdk_id == "from-dotenv" and s.timezone == "Asia/Shanghai"
