from __future__ import annotations

import multiprocessing as mp
import os
import signal
import stat
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from resources.tencent.token_store import StoredToken, TokenStore, TokenStoreError

CANARY_AT = "CANARY-access-5d1f2a"
CANARY_RT = "CANARY-refresh-7c3b9e"


def token(n: int = 0) -> StoredToken:
    return StoredToken("openid-1", f"{CANARY_AT}-{n}", f"{CANARY_RT}-{n}", expires=2_000_000_000 + n,
                       scopes=("VIEW_MEETING",), refresh_expires=2_000_000_000)


def store(tmp_path: Path) -> TokenStore:
    return TokenStore.for_app(tmp_path / "state", "sdk1", None)


def test_round_trip_encrypted_owner_only(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(token())
    assert s.get("openid-1") == token()
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state" / "token.key").stat().st_mode) == 0o600
    raw = s.path.read_bytes()
    assert CANARY_AT.encode() not in raw and CANARY_RT.encode() not in raw
    assert s.principals() == ["openid-1"]
    assert CANARY_AT not in repr(token())


def test_tampered_store_refused(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(token())
    blob = bytearray(s.path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    s.path.write_bytes(bytes(blob))
    with pytest.raises(TokenStoreError, match="tampered"):
        s.read_all()


def test_wrong_key_refused(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(token())
    other = TokenStore.for_app(tmp_path / "state", "sdk1", SecretStr(Fernet.generate_key().decode()))
    with pytest.raises(TokenStoreError):
        other.read_all()


def test_symlink_refused(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(token())
    elsewhere = tmp_path / "elsewhere"
    os.replace(s.path, elsewhere)
    s.path.symlink_to(elsewhere)
    with pytest.raises(TokenStoreError, match="symbolic link"):
        s.read_all()
    with pytest.raises(TokenStoreError, match="symbolic link"):
        s.put(token(1))


def test_key_rotation_with_multifernet(tmp_path: Path) -> None:
    old = Fernet.generate_key().decode()
    new = Fernet.generate_key().decode()
    TokenStore.for_app(tmp_path / "s", "sdk1", SecretStr(old)).put(token())
    rotated = TokenStore.for_app(tmp_path / "s", "sdk1", SecretStr(f"{new},{old}"))
    assert rotated.get("openid-1") == token()


def _writer(path: str, key: str) -> None:
    s = TokenStore(Path(path), __import__("cryptography.fernet", fromlist=["MultiFernet"]).MultiFernet([Fernet(key.encode())]))
    n = 1
    while True:
        s.put(token(n))
        n += 1


def test_atomic_under_kill(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    path = tmp_path / "tokens.fernet"
    from cryptography.fernet import MultiFernet

    s = TokenStore(path, MultiFernet([Fernet(key.encode())]))
    s.put(token(0))
    ctx = mp.get_context("spawn")
    seen = set()
    for i in range(6):
        proc = ctx.Process(target=_writer, args=(str(path), key))
        proc.start()
        before = s.get("openid-1")
        deadline = time.monotonic() + 30
        while s.get("openid-1") == before and time.monotonic() < deadline:
            time.sleep(0.01)  # the child is importing; kill only once it is writing
        time.sleep(0.005 * i)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        current = s.get("openid-1")  # must always parse: old or new, never torn
        assert current is not None and current.access_token.startswith(CANARY_AT)
        seen.add(current.access_token)
    assert len(seen) > 1
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 6  # a kill may strand a temp file, never the store itself
