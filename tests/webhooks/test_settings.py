from __future__ import annotations

from pathlib import Path

import pytest

from resources.settings import ConfigError, Settings
from resources.webhooks.settings import WebhookConfigError, WebhookSettings
from tests.webhooks.platform import AES_KEY, TOKEN


def test_defaults_from_a_minimal_environment() -> None:
    settings = WebhookSettings.from_env({"TMEET_WEBHOOK_TOKEN": TOKEN})
    assert settings.aes_key is None
    assert settings.tolerance_s == 300
    assert settings.inbox_path == Path("data") / "inbox" / "webhooks.sqlite"
    assert TOKEN not in repr(settings)


def test_every_setting_is_read() -> None:
    settings = WebhookSettings.from_env(
        {
            "TMEET_WEBHOOK_TOKEN": TOKEN,
            "TMEET_WEBHOOK_AES_KEY": AES_KEY,
            "TMEET_DATA_DIR": "/srv/tmeet",
            "TMEET_WEBHOOK_TOLERANCE_S": "120",
            "TMEET_WEBHOOK_MAX_BODY_BYTES": "65536",
            "TMEET_WEBHOOK_NONCE_CACHE": "1000",
            "TMEET_WEBHOOK_HEADER_TIMEOUT_S": "4.5",
            "TMEET_WEBHOOK_BODY_TIMEOUT_S": "6",
            "TMEET_WEBHOOK_KEEP_ALIVE_S": "3",
            "TMEET_WEBHOOK_MAX_HEADER_BYTES": "8192",
            "TMEET_WEBHOOK_MAX_CONNECTIONS": "200",
        }
    )
    assert (settings.header_timeout_s, settings.body_timeout_s, settings.keep_alive_s) == (4.5, 6, 3)
    assert (settings.max_header_bytes, settings.max_connections) == (8192, 200)
    assert settings.aes_key is not None and settings.aes_key.get_secret_value() == AES_KEY
    assert AES_KEY not in repr(settings) and TOKEN not in str(settings)
    assert settings.inbox_path == Path("/srv/tmeet/inbox/webhooks.sqlite")
    assert (settings.tolerance_s, settings.max_body_bytes, settings.nonce_cache_size) == (120, 65536, 1000)


@pytest.mark.parametrize(
    ("env", "variable", "fix"),
    [
        ({}, "TMEET_WEBHOOK_TOKEN", "is not set: export the 'Token'"),
        ({"TMEET_WEBHOOK_TOKEN": "tooShort1"}, "TMEET_WEBHOOK_TOKEN", "25 letters or digits"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN[:-1] + "!"}, "TMEET_WEBHOOK_TOKEN", "25 letters or digits"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_AES_KEY": AES_KEY[:-2]}, "TMEET_WEBHOOK_AES_KEY", "43-character"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_TOLERANCE_S": "soon"}, "TMEET_WEBHOOK_TOLERANCE_S", "not a number"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_TOLERANCE_S": "0"}, "TMEET_WEBHOOK_TOLERANCE_S", "positive"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_MAX_BODY_BYTES": "10"}, "TMEET_WEBHOOK_MAX_BODY_BYTES", "at least 1024"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_NONCE_CACHE": "0"}, "TMEET_WEBHOOK_NONCE_CACHE", "at least 1"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_HEADER_TIMEOUT_S": "0"}, "TMEET_WEBHOOK_HEADER_TIMEOUT_S", "positive"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_BODY_TIMEOUT_S": "1000"}, "TMEET_WEBHOOK_BODY_TIMEOUT_S", "at most 300"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_KEEP_ALIVE_S": "1.5"}, "TMEET_WEBHOOK_KEEP_ALIVE_S", "whole number"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_MAX_HEADER_BYTES": "1"}, "TMEET_WEBHOOK_MAX_HEADER_BYTES", "at least 1024"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_MAX_CONNECTIONS": "1"}, "TMEET_WEBHOOK_MAX_CONNECTIONS", "at least 2"),
        ({"TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_DATA_DIR": "", "TMEET_WEBHOOK_MAX_CONNECTIONS": "x"},
         "TMEET_WEBHOOK_MAX_CONNECTIONS", "set it to e.g. 1000"),
    ],
)
def test_bad_settings_name_the_variable_and_fix_without_echoing_secrets(env: dict[str, str], variable: str, fix: str) -> None:
    with pytest.raises(WebhookConfigError) as exc:
        WebhookSettings.from_env(env)
    assert variable in str(exc.value) and fix in str(exc.value), str(exc.value)
    for secret in (env.get("TMEET_WEBHOOK_TOKEN"), env.get("TMEET_WEBHOOK_AES_KEY")):
        if secret:
            assert secret not in str(exc.value)


def test_a_webhook_error_is_a_configuration_error() -> None:
    # The command line turns every ConfigError into "configuration error: ..." with its exit code.
    assert issubclass(WebhookConfigError, ConfigError)


def test_the_data_directory_has_one_default() -> None:
    assert WebhookSettings.from_env({"TMEET_WEBHOOK_TOKEN": TOKEN}).data_dir == Settings.from_env({}).data_dir
