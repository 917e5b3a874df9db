"""The accounts file: what it declares, how each account becomes its own settings, and every error's fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from resources.accounts import AccountsFileError, load_accounts
from resources.settings import Settings

AKSK = """
[[accounts]]
id = "acme"
display_name = "ACME Ltd"
auth_mode = "aksk"
app_id = "210000001"
secret_id = "AKIDacme"
secret_key_env = "ACME_SECRET_KEY"
operator_id = "admin"
timezone = "Europe/Berlin"
scopes = ["VIEW_ALL_MEETINGS"]

[accounts.settings]
pii_policy = "email=hash"
step_retries = 0
"""
OAUTH = """
[[accounts]]
id = "globex"
auth_mode = "oauth"
app_type = "user"
sdk_id = "400000001"
secret_file = "{secret_file}"
corp_id = "globex-corp"
redirect_uri = "http://127.0.0.1:8765/callback"
"""


def write(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    monkeypatch.setenv("TMEET_ACCOUNTS_FILE", str(path))
    return path


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployment's own environment: one app's credentials an account must never inherit."""
    secret_file = tmp_path / "globex.secret"
    secret_file.write_text("globex-oauth-secret\n")
    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TMEET_SDK_ID", "999")
    monkeypatch.setenv("TMEET_SECRET", "deployment-secret")
    monkeypatch.setenv("TMEET_APP_ID", "999")
    monkeypatch.setenv("TMEET_LAKE_URL", "s3://bucket/lake")
    monkeypatch.setenv("ACME_SECRET_KEY", "acme-secret-key")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("TMEET_ARCHIVE_URL", raising=False)
    return write(tmp_path, AKSK + OAUTH.format(secret_file=secret_file), monkeypatch)


def test_each_account_gets_its_own_settings_data_dir_lake_prefix_and_the_shared_instance(
    deployment: Path, tmp_path: Path
) -> None:
    accounts = load_accounts()
    assert accounts is not None and accounts.ids == ["acme", "globex"]
    acme, globex = (a.resolved() for a in accounts.accounts)

    assert (acme.auth_mode, acme.app_id, acme.secret_id, acme.operator_id) == ("aksk", "210000001", "AKIDacme", "admin")
    assert acme.secret_key is not None and acme.secret_key.get_secret_value() == "acme-secret-key"
    assert acme.timezone == "Europe/Berlin" and acme.enabled_scopes == ("VIEW_ALL_MEETINGS",)
    assert acme.pii_policy == {"email": "hash"} and acme.step_retries == 0
    assert acme.account_id == "acme"
    # Nothing of the deployment's own app leaks into an account that does not set it.
    assert acme.sdk_id == "" and acme.secret is None
    assert globex.secret is not None and globex.secret.get_secret_value() == "globex-oauth-secret"
    assert globex.app_id == "" and (globex.auth_mode, globex.app_type, globex.sdk_id) == ("oauth", "user", "400000001")

    data = (tmp_path / "data").resolve()
    assert acme.data_dir == data / "accounts" / "acme" and globex.data_dir == data / "accounts" / "globex"
    assert acme.state_dir != globex.state_dir  # token stores and quota budgets apart
    assert acme.lake_url == "s3://bucket/lake/acme" and globex.lake_url == "s3://bucket/lake/globex"
    env = accounts.accounts[0].environ()
    assert env["DAGSTER_HOME"] == str(data / "dagster_home")
    # The account's processes load the same account-partitioned definitions; the id says which account they act for.
    assert env["TMEET_ACCOUNTS_FILE"] == str(deployment.resolve()) and env["TMEET_ACCOUNT_ID"] == "acme"


def test_without_an_accounts_file_there_is_one_account_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMEET_ACCOUNTS_FILE", raising=False)
    assert load_accounts() is None


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        (AKSK.replace('secret_key_env = "ACME_SECRET_KEY"', 'secret_key = "plain"'), "secret_key_env"),
        (AKSK.replace('pii_policy = "email=hash"', 'secret = "plain"'), "secret_env or secret_file"),
        (AKSK.replace('id = "acme"', 'id = "ACME Ltd"'), "lower-case letters"),
        (AKSK + AKSK, "declared twice"),
        (AKSK.replace('auth_mode = "aksk"', 'auth_mode = "sso"'), 'set it to "aksk" or "oauth"'),
        (AKSK.replace('operator_id = "admin"', ""), "lacks operator_id"),
        (AKSK.replace('secret_key_env = "ACME_SECRET_KEY"', ""), "lacks secret_key_env or secret_key_file"),
        (AKSK.replace("timezone", "time_zone"), "unknown key(s) time_zone"),
        ("title = 1\n" + AKSK, "unknown key(s) title"),
        ("", "declares no account"),
        ("[[accounts]\n", "not valid TOML"),
        (AKSK.replace("step_retries = 0", "accounts_file = 'x'"), "not a per-account setting"),
    ],
)
def test_a_wrong_accounts_file_names_the_fix(
    text: str, fix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, text, monkeypatch)
    with pytest.raises(AccountsFileError) as raised:
        load_accounts()
    assert fix in str(raised.value)
    assert "plain" not in str(raised.value)  # a secret written in the file is never echoed


def test_a_missing_secret_reference_names_the_variable_and_an_invalid_setting_names_the_account(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ACME_SECRET_KEY")
    accounts = load_accounts()
    assert accounts is not None
    with pytest.raises(AccountsFileError, match="ACME_SECRET_KEY, which is not set; export ACME_SECRET_KEY"):
        accounts.accounts[0].resolved()
    (tmp_path / "globex.secret").unlink()
    with pytest.raises(AccountsFileError, match="cannot read secret_file .*globex.secret"):
        accounts.accounts[1].resolved()
    write(tmp_path, AKSK.replace("Europe/Berlin", "Mars/Olympus"), monkeypatch)
    monkeypatch.setenv("ACME_SECRET_KEY", "acme-secret-key")
    bad = load_accounts()
    assert bad is not None
    with pytest.raises(AccountsFileError, match="account 'acme': TMEET_TIMEZONE='Mars/Olympus' is not an IANA"):
        bad.accounts[0].resolved()


def test_sync_of_an_unknown_account_names_the_known_ones(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--account", "initech"]) != 0
    err = capsys.readouterr().err
    assert "unknown account initech" in err and "acme, globex" in err


def test_account_option_without_an_accounts_file_says_how_to_declare_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TMEET_ACCOUNTS_FILE", raising=False)
    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path))
    assert main(["sync", "--account", "acme"]) == 2
    assert "set TMEET_ACCOUNTS_FILE" in capsys.readouterr().err


def test_a_scope_list_narrows_what_an_account_syncs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from assets import registry
    from resources.dagster_resources import TencentMeetingResource

    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TMEET_AUTH_MODE", "aksk")
    monkeypatch.delenv("TMEET_ENABLED_SCOPES", raising=False)
    everything = TencentMeetingResource().plan(registry.scope_needs())
    monkeypatch.setenv("TMEET_ENABLED_SCOPES", "VIEW_ALL_MEETINGS")
    narrowed = TencentMeetingResource().plan(registry.scope_needs())
    assert "meetings" in narrowed.run and "recordings" in everything.run
    assert "recordings" in narrowed.skipped and "VIEW_ALL_RECORDS" in narrowed.skipped["recordings"]
    assert Settings.from_env().enabled_scopes == ("VIEW_ALL_MEETINGS",)
