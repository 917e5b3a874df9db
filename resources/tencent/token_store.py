"""The OAuth token store: Fernet-encrypted, owner-only, written atomically and durably.

One file per app (``sdk_id``) holds one token per principal (``open_id``): an account-level app
keeps one, a user-level app one per authorizing user.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from filelock import FileLock
from pydantic import SecretStr

from resources.atomic_files import fsync_dir
from resources.file_modes import PRIVATE, make_dirs
from resources.settings import ConfigError
from resources.tencent.redact import register_secret

REFRESH_TOKEN_LIFETIME = 30 * 86400
STORE_VERSION = 1


class TokenStoreError(Exception):
    """The store cannot be trusted (tampered, wrong key, unsafe path); never falls back to plaintext."""


@dataclass(frozen=True)
class StoredToken:
    open_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires: int
    scopes: tuple[str, ...] = ()
    open_corp_id: str = ""
    refresh_expires: int = 0
    obtained_at: int = 0
    # Set when the token endpoint refused this refresh token: only a new login clears it.
    refused_at: int = 0
    refused_detail: str = ""

    @property
    def refused(self) -> bool:
        return self.refused_at > 0

    def refused_message(self) -> str:
        at = datetime.fromtimestamp(self.refused_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"refresh token refused by the platform at {at}: run `tmeet-etl auth login`"

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires - (time.time() if now is None else now) <= seconds

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredToken:
        token = cls(
            open_id=str(data["open_id"]),
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires=int(data["expires"]),
            scopes=tuple(data.get("scopes") or ()),
            open_corp_id=str(data.get("open_corp_id") or ""),
            refresh_expires=int(data.get("refresh_expires") or 0),
            obtained_at=int(data.get("obtained_at") or 0),
            refused_at=int(data.get("refused_at") or 0),
            refused_detail=str(data.get("refused_detail") or ""),
        )
        register_secret(token.access_token)
        register_secret(token.refresh_token)
        return token

    @classmethod
    def from_token_response(cls, data: dict[str, Any], now: float | None = None) -> StoredToken:
        """Build from the platform's ``data`` object; ``expires`` is already absolute."""
        at = int(time.time() if now is None else now)
        return cls.from_json(
            {
                "open_id": data["open_id"],
                "access_token": data["access_token"],
                "refresh_token": data["refresh_token"],
                "expires": int(data["expires"]),
                "scopes": list(data.get("scopes") or []),
                "open_corp_id": data.get("open_corp_id") or "",
                # Each exchange or refresh extends the refresh token by 30 days (docs/platform.md, "OAuth").
                "refresh_expires": at + REFRESH_TOKEN_LIFETIME,
                "obtained_at": at,
            }
        )


def load_or_create_key(settings_key: SecretStr | None, key_path: Path) -> MultiFernet:
    """``TMEET_TOKEN_KEY`` (comma-separated for rotation, newest first) or a 0600 key file."""
    if settings_key is not None:
        try:
            keys = [Fernet(k.strip().encode()) for k in settings_key.get_secret_value().split(",") if k.strip()]
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "TMEET_TOKEN_KEY is not a Fernet key; generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from exc
        return MultiFernet(keys)
    make_dirs(key_path.parent, PRIVATE)
    _refuse_symlink(key_path)
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(key_path.parent)
    _check_owner_only(key_path)
    raw = _read_nofollow(key_path).strip()
    if not raw:
        # A concurrent creator has not finished writing; its fsync is imminent.
        time.sleep(0.05)
        raw = _read_nofollow(key_path).strip()
    try:
        return MultiFernet([Fernet(raw)])
    except (ValueError, TypeError) as exc:
        raise TokenStoreError(f"token key file {key_path} is corrupt; delete it and run `tmeet-etl auth login`") from exc


class TokenStore:
    """Encrypted map ``open_id -> StoredToken`` for one app, with an inter-process lock beside it."""

    def __init__(self, path: Path, fernet: MultiFernet) -> None:
        self.path = path
        self._fernet = fernet
        self.lock = FileLock(str(path) + ".lock", timeout=120, mode=PRIVATE.file)

    @classmethod
    def for_app(cls, state_dir: Path, sdk_id: str, token_key: SecretStr | None) -> TokenStore:
        make_dirs(state_dir.parent)
        make_dirs(state_dir, PRIVATE)
        os.chmod(state_dir, PRIVATE.directory)
        fernet = load_or_create_key(token_key, state_dir / "token.key")
        safe = "".join(c for c in sdk_id if c.isalnum() or c in "-_") or "default"
        return cls(state_dir / f"tokens-{safe}.fernet", fernet)

    def read_all(self) -> dict[str, StoredToken]:
        if not self.path.exists() and not self.path.is_symlink():
            return {}
        _refuse_symlink(self.path)
        blob = _read_nofollow(self.path)
        try:
            plain = self._fernet.decrypt(blob)
        except InvalidToken as exc:
            raise TokenStoreError(
                f"token store {self.path} failed authentication (tampered, or encrypted with another key); "
                "restore TMEET_TOKEN_KEY or delete the store and run `tmeet-etl auth login`"
            ) from exc
        try:
            data = json.loads(plain)
            if data.get("version") != STORE_VERSION:
                raise ValueError("unknown store version")
            return {oid: StoredToken.from_json(t) for oid, t in data["tokens"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TokenStoreError(f"token store {self.path} is unreadable; run `tmeet-etl auth login`") from exc

    def get(self, open_id: str) -> StoredToken | None:
        return self.read_all().get(open_id)

    def principals(self) -> list[str]:
        return sorted(self.read_all())

    def put(self, token: StoredToken) -> None:
        """Insert or replace one principal's token (caller should hold :attr:`lock`)."""
        tokens = self.read_all()
        tokens[token.open_id] = token
        self._write(tokens)

    def remove(self, open_id: str | None = None) -> int:
        tokens = self.read_all()
        if open_id is None:
            count = len(tokens)
            tokens = {}
        else:
            count = 1 if tokens.pop(open_id, None) else 0
        self._write(tokens)
        return count

    def _write(self, tokens: dict[str, StoredToken]) -> None:
        payload = json.dumps(
            {"version": STORE_VERSION, "tokens": {k: v.to_json() for k, v in tokens.items()}},
            sort_keys=True,
        ).encode()
        atomic_write(self.path, self._fernet.encrypt(payload))


def atomic_write(path: Path, data: bytes) -> None:
    """Temp file (0600) + fsync + ``os.replace`` + directory fsync: old or new, never torn."""
    _refuse_symlink(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        raise TokenStoreError(f"{path} is a symbolic link; refusing to follow it (replace it with a regular file)")


def _read_nofollow(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise TokenStoreError(f"cannot open {path} safely ({exc.strerror}); check the file") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise TokenStoreError(f"{path} is not a regular file")
        if st.st_mode & 0o077:
            raise TokenStoreError(f"{path} is readable by others (mode {oct(st.st_mode & 0o777)}); chmod 600 it")
        return fh.read()


def _check_owner_only(path: Path) -> None:
    mode = path.lstat().st_mode & 0o777
    if mode & 0o077:
        raise TokenStoreError(f"{path} is readable by others (mode {oct(mode)}); chmod 600 it")
