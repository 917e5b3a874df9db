"""A sync under a hash/drop PII policy: hashed and emptied columns, and no raw e-mail or phone on disk."""

from __future__ import annotations

import gzip
import hashlib
import hmac
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from emulator.testing import EmulatorHandle
from emulator.truth import compute_truth
from pipelines.auth_cli import doctor_report
from pipelines.cli import main
from pipelines.rebuild import rebuild
from pipelines.sync import run_sync
from resources.lake import Lake
from resources.pii_policy import redact_preview
from resources.settings import Settings
from tests.pipeline.conftest import FIRST, LAST

POLICY = "email=hash,user_name=hash,phone=drop,phone_hash=drop"


def _hmac(salt: bytes, value: str) -> str:
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _readable_text(path: Path) -> str:
    """What a reader of ``path`` can get out of it: compressed formats are opened, not grepped."""
    raw = path.read_bytes()
    parts = [raw.decode("utf-8", "replace")]
    if path.suffix == ".parquet":
        parts.append(str(pq.read_table(path).to_pylist()))
    elif path.suffix == ".gz":
        parts.append(gzip.decompress(raw).decode("utf-8", "replace"))
    elif path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                parts.append(str(con.execute(f'SELECT * FROM "{table}"').fetchall()))  # noqa: S608
    return "\n".join(parts)


def test_hash_and_drop_policy_leaves_no_raw_contact_data(
    pipeline_env: tuple[EmulatorHandle, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, data_dir = pipeline_env
    monkeypatch.setenv("TMEET_PII_POLICY", POLICY)
    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    salt = (data_dir / "state" / "pii.salt").read_bytes().strip()
    assert (data_dir / "state" / "pii.salt").stat().st_mode & 0o777 == 0o600

    lake = Lake.from_data_dir(data_dir)
    users = lake.read("users").set_index("userid")
    want = truth["users"].set_index("userid")
    assert want["email"].notna().sum() > 0, "the emulator produced no e-mail; the test would prove nothing"
    for userid, row in want.iterrows():
        got = users.loc[userid]
        for column in ("email", "user_name"):
            if pd.isna(row[column]):
                assert pd.isna(got[column])
            else:
                assert got[column] == _hmac(salt, row[column]), (userid, column)
    assert users["phone"].isna().all()
    sessions = lake.read("participant_sessions")
    assert len(sessions) > 0 and sessions["phone_hash"].isna().all()
    names = truth["participant_sessions"]["user_name"].dropna()
    assert set(sessions["user_name"].dropna()) == {_hmac(salt, n) for n in names}

    assert not (data_dir / "raw").exists(), "raw pages hold every field as received; they must not be archived"

    secrets_ = {v for v in truth["users"]["email"].dropna() if v} | {v for v in truth["users"]["phone"].dropna() if v}
    secrets_ |= {v for v in truth["participant_sessions"]["phone_hash"].dropna() if v}
    assert secrets_
    leaks = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        text = _readable_text(path)
        leaks += [f"{path.relative_to(data_dir)}: {value}" for value in secrets_ if value in text]
    assert not leaks, "\n".join(leaks[:20])


def test_rebuild_says_what_a_scrubbing_policy_leaves_it(
    pipeline_env: tuple[EmulatorHandle, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, data_dir = pipeline_env
    monkeypatch.setenv("TMEET_PII_POLICY", "email=drop")
    monkeypatch.setenv("COLUMNS", "400")
    assert run_sync(FIRST, LAST).success
    assert not (data_dir / "raw").exists()
    assert rebuild(data_dir, "Asia/Shanghai", publish_warehouse=False).rows_by_table == {}
    assert main(["rebuild", "--no-publish"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "TMEET_PII_POLICY (email=drop) turns the raw-page archive off" in out
    assert "re-run `tmeet-etl sync` for those dates" in out


def test_run_metadata_previews_leave_out_hashed_and_dropped_columns() -> None:
    frame = pd.DataFrame({"userid": ["u1"], "email": ["a@example.com"], "user_name": ["A"], "phone": ["138"]})
    shown = redact_preview("users", frame, {"TMEET_PII_POLICY": "email=hash,phone=drop"})
    assert list(shown.columns) == ["userid", "user_name"]
    assert redact_preview("users", frame, {}) is frame
    quarantine = pd.DataFrame({"table_name": ["users"], "record_json": ['{"email": "a@example.com"}']})
    assert list(redact_preview("quarantine", quarantine, {"TMEET_PII_POLICY": "email=drop"}).columns) == ["table_name"]


def test_doctor_shows_the_data_policy(pipeline_env: tuple[EmulatorHandle, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMEET_PII_POLICY", "email=hash,phone=keep")
    monkeypatch.setenv("TMEET_FILE_MODE", "group-read")
    rows = doctor_report(Settings.from_env())
    data = [detail for check, ok, detail in rows if check == "data" and ok]
    assert len(data) == 1
    assert "files group-read" in data[0] and "PII policy: email=hash;" in data[0] and "raw pages not archived" in data[0]
