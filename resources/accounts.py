"""Several Tencent Meeting accounts in one deployment, declared in one TOML file (``TMEET_ACCOUNTS_FILE``).

Each account becomes the ``TMEET_*`` environment of one ordinary single-account pipeline: its own
data directory (token store, quota budget, PII salt, warehouse), its own lake and archive prefix,
its own credentials and time zone, and the deployment's one Dagster instance. Everything below the
accounts file reads settings from the environment, so an account is exactly "the pipeline as it is
today, run with this environment", and without an accounts file nothing changes.

Secrets are never written in the file: each is named by reference, ``secret_key_env = "VAR"`` (an
environment variable holding it) or ``secret_key_file = "/run/secrets/name"``.

```toml
combined_warehouse = "/var/lib/tmeet/combined.duckdb"   # optional: every account's tables + account_id

[[accounts]]
id = "acme"                       # lower-case letters, digits, - and _; names directories and prefixes
display_name = "ACME Ltd"
auth_mode = "aksk"
app_id = "210000001"
secret_id = "AKIDxxxx"
secret_key_env = "ACME_SECRET_KEY"
operator_id = "admin"
timezone = "Asia/Shanghai"
scopes = ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"]   # optional: what this account syncs

[accounts.settings]               # optional: any other setting by its field name (no secrets)
pii_policy = "email=hash"
```
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from resources.settings import ConfigError, Settings

ACCOUNTS_FILE_ENV = Settings.env_name("accounts_file")
ACCOUNT_ID_ENV = Settings.env_name("account_id")
ACCOUNTS_DIR_NAME = "accounts"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

# Settings an account names directly in its table (the rest go under [accounts.settings]).
PLAIN_FIELDS: tuple[str, ...] = (
    "auth_mode", "app_type", "sdk_id", "corp_id", "redirect_uri", "app_id", "secret_id", "operator_id",
    "timezone", "api_base_url", "oauth_base_url", "data_dir", "lake_url", "archive_url",
)
# Read by reference only: ``<name>_env`` or ``<name>_file``.
SECRET_FIELDS: tuple[str, ...] = tuple(
    name for name, info in Settings.model_fields.items() if info.annotation in (SecretStr, SecretStr | None)
)
# What identifies an app or where its data goes: never inherited from the deployment's own environment,
# so one account can never sign with, or write into, another's.
ISOLATED_FIELDS: tuple[str, ...] = (*PLAIN_FIELDS, *SECRET_FIELDS, "enabled_scopes", "account_id")
# Settings that concern the deployment as a whole, not one account.
DEPLOYMENT_FIELDS: frozenset[str] = frozenset({"accounts_file", "account_id", "combined_warehouse"})
_KNOWN_KEYS = frozenset({"id", "display_name", "scopes", "settings", *PLAIN_FIELDS}) | {
    f"{name}{suffix}" for name in SECRET_FIELDS for suffix in ("_env", "_file")
}


class AccountsFileError(ConfigError):
    """The accounts file is missing, unreadable or wrong; the message names the account, the key and the fix."""


@dataclass(frozen=True)
class Account:
    """One account as declared; :meth:`environ` turns it into the pipeline's environment."""

    id: str
    display_name: str
    settings: dict[str, str]
    # Secret field -> ("env", VARIABLE) or ("file", PATH).
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: the process environment) with this account's settings, secrets and locations.

        The data directory defaults to ``<deployment data dir>/accounts/<id>``; a lake or archive on
        object storage gets ``/<id>`` under the deployment's URL; the Dagster instance stays the
        deployment's one, so every account's runs show in the same UI.
        """
        base = dict(os.environ if base is None else base)
        deployment = Settings.from_env(base)
        # Set empty rather than removed: a child command loads ./.env under the environment, and an
        # empty variable both wins over the file's value and reads as "not set".
        env = {**base, **dict.fromkeys(_isolated_variables(), "")}
        # Kept, so the account's processes load the same account-partitioned definitions as the
        # deployment's code location; TMEET_ACCOUNT_ID says they act for one account.
        path = accounts_file(base)
        if path is not None:
            env[ACCOUNTS_FILE_ENV] = str(path.resolve())
        for name, value in self.settings.items():
            env[Settings.env_name(name)] = value
        for name, (kind, where) in self.secrets.items():
            env[Settings.env_name(name)] = self._secret(name, kind, where, base)
        env[Settings.env_name("data_dir")] = str(self.data_dir(base))
        for name in ("lake_url", "archive_url"):
            inherited = getattr(deployment, name)
            if name not in self.settings and inherited:
                env[Settings.env_name(name)] = _under(inherited, self.id)
        if self.scopes:
            env[Settings.env_name("enabled_scopes")] = ",".join(self.scopes)
        env[ACCOUNT_ID_ENV] = self.id
        if not env.get("DAGSTER_HOME", "").strip():
            env["DAGSTER_HOME"] = str((deployment.data_dir / "dagster_home").resolve())
        return env

    def data_dir(self, base: Mapping[str, str] | None = None) -> Path:
        """This account's data directory: its own ``data_dir``, else ``<deployment data dir>/accounts/<id>``."""
        own = self.settings.get("data_dir")
        root = Path(own) if own else Settings.from_env(base).data_dir / ACCOUNTS_DIR_NAME / self.id
        return root.expanduser().resolve()

    def resolved(self, base: Mapping[str, str] | None = None) -> Settings:
        """This account's settings, validated like the single-account ones."""
        try:
            return Settings.from_env(self.environ(base))
        except AccountsFileError:
            raise
        except ConfigError as exc:
            raise AccountsFileError(f"account {self.id!r}: {exc}") from None

    def _secret(self, name: str, kind: str, where: str, base: Mapping[str, str]) -> str:
        if kind == "env":
            value = base.get(where, "").strip()
            if not value:
                raise AccountsFileError(
                    f"account {self.id!r}: {name}_env names {where}, which is not set; export {where} "
                    f"or point {name}_file at a file holding the value"
                )
            return value
        try:
            value = Path(where).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AccountsFileError(
                f"account {self.id!r}: cannot read {name}_file {where} ({exc.strerror}); create it or fix the path"
            ) from None
        if not value:
            raise AccountsFileError(f"account {self.id!r}: {name}_file {where} is empty; write the value into it")
        return value


@dataclass(frozen=True)
class Accounts:
    path: Path
    accounts: tuple[Account, ...]
    combined_warehouse: Path | None = None

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.accounts]

    def select(self, ids: list[str] | None) -> list[Account]:
        """The named accounts in file order (all when ``ids`` is empty); an unknown id names the known ones."""
        if not ids:
            return list(self.accounts)
        unknown = [i for i in ids if i not in self.ids]
        if unknown:
            raise AccountsFileError(
                f"unknown account {', '.join(unknown)}; the accounts in {self.path} are: {', '.join(self.ids)}"
            )
        return [a for a in self.accounts if a.id in ids]


def acting_account(env: Mapping[str, str] | None = None) -> str | None:
    """The account this process acts for (``TMEET_ACCOUNT_ID``, set in each account's environment), else None.

    A process with an accounts file and no account is the deployment's: it acts for every account.
    """
    return (os.environ if env is None else env).get(ACCOUNT_ID_ENV, "").strip() or None


def accounts_file(env: Mapping[str, str] | None = None) -> Path | None:
    """``TMEET_ACCOUNTS_FILE`` when it is set, else None (one account, configured as before)."""
    value = (os.environ if env is None else env).get(ACCOUNTS_FILE_ENV, "").strip()
    return Path(value).expanduser() if value else None


def load_accounts(env: Mapping[str, str] | None = None) -> Accounts | None:
    """The deployment's accounts, or None without an accounts file."""
    env = os.environ if env is None else env
    path = accounts_file(env)
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AccountsFileError(f"{ACCOUNTS_FILE_ENV}={path}: {exc.strerror}; fix the path or unset it") from None
    except tomllib.TOMLDecodeError as exc:
        raise AccountsFileError(f"{path} is not valid TOML ({exc}); fix the file") from None
    accounts = parse_accounts(data, path)
    combined = data.get("combined_warehouse") or env.get(Settings.env_name("combined_warehouse"), "").strip()
    return Accounts(path, accounts, Path(combined).expanduser() if combined else None)


def parse_accounts(data: Mapping[str, Any], path: Path) -> tuple[Account, ...]:
    unknown_top = set(data) - {"accounts", "combined_warehouse"}
    if unknown_top:
        raise AccountsFileError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown_top))}; the file holds [[accounts]] tables "
            "and an optional combined_warehouse"
        )
    tables = data.get("accounts")
    if not isinstance(tables, list) or not tables:
        raise AccountsFileError(f"{path} declares no account; add an [[accounts]] table with at least id and auth_mode")
    accounts = [_parse_account(table, path, n) for n, table in enumerate(tables, 1)]
    seen: set[str] = set()
    for account in accounts:
        if account.id in seen:
            raise AccountsFileError(f"{path}: account id {account.id!r} is declared twice; give each account its own id")
        seen.add(account.id)
    return tuple(accounts)


def _parse_account(table: Any, path: Path, n: int) -> Account:
    if not isinstance(table, dict):
        raise AccountsFileError(f"{path}: accounts entry {n} is not a table; write it as [[accounts]]")
    ident = table.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise AccountsFileError(
            f"{path}: accounts entry {n} has id {ident!r}; set id to lower-case letters, digits, '-' or '_' "
            "(it names the account's directories and prefixes)"
        )
    where = f"{path}: account {ident!r}"
    for name in SECRET_FIELDS:
        if name in table:
            raise AccountsFileError(
                f"{where} writes {name} in the file; remove it and set {name}_env = \"VARIABLE\" (an environment "
                f"variable holding it) or {name}_file = \"/run/secrets/...\""
            )
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise AccountsFileError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_KNOWN_KEYS))}"
        )
    settings = {name: str(table[name]) for name in PLAIN_FIELDS if name in table}
    extra = table.get("settings", {})
    if not isinstance(extra, dict):
        raise AccountsFileError(f"{where}: settings must be a table, [accounts.settings]")
    for name, value in extra.items():
        if name in SECRET_FIELDS:
            raise AccountsFileError(f"{where} writes {name} under settings; set {name}_env or {name}_file instead")
        if name not in Settings.model_fields or name in DEPLOYMENT_FIELDS:
            raise AccountsFileError(f"{where}: settings.{name} is not a per-account setting; remove it")
        settings[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    secrets: dict[str, tuple[str, str]] = {}
    for name in SECRET_FIELDS:
        for kind in ("env", "file"):
            value = table.get(f"{name}_{kind}")
            if value is None:
                continue
            if name in secrets:
                raise AccountsFileError(f"{where} sets both {name}_env and {name}_file; keep one")
            if not isinstance(value, str) or not value.strip():
                raise AccountsFileError(f"{where}: {name}_{kind} must name a variable or a file")
            secrets[name] = (kind, value.strip())
    scopes = table.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AccountsFileError(f"{where}: scopes must be a list of scope codes, e.g. [\"VIEW_ALL_MEETINGS\"]")
    display = table.get("display_name", ident)
    account = Account(ident, str(display), settings, secrets, tuple(scopes))
    _check_required(account, where)
    return account


def _check_required(account: Account, where: str) -> None:
    mode = account.settings.get("auth_mode", "")
    if mode == "aksk":
        needed = {"app_id": "plain", "secret_id": "plain", "operator_id": "plain", "secret_key": "secret"}
    elif mode == "oauth":
        needed = {"sdk_id": "plain", "secret": "secret"}
    else:
        raise AccountsFileError(f"{where}: auth_mode is {mode or 'missing'}; set it to \"aksk\" or \"oauth\"")
    missing = [
        f"{name}_env or {name}_file" if kind == "secret" else name
        for name, kind in needed.items()
        if (name not in account.secrets if kind == "secret" else not account.settings.get(name))
    ]
    if missing:
        raise AccountsFileError(f"{where} ({mode}) lacks {', '.join(missing)}; add them to its [[accounts]] table")


def _isolated_variables() -> frozenset[str]:
    return frozenset(Settings.env_name(name) for name in ISOLATED_FIELDS)


def _under(location: str, account_id: str) -> str:
    return f"{location.rstrip('/')}/{account_id}"
