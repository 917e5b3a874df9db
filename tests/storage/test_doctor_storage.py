"""`doctor`'s storage rows against a real S3 API server and a real directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.doctor_storage import PROBE_PREFIX, storage_rows
from resources.settings import Settings
from tests.storage.s3_server import S3Server


def _settings(data_dir: Path, **values: str) -> Settings:
    return Settings.from_env({"TMEET_DATA_DIR": str(data_dir), **{f"TMEET_{k.upper()}": v for k, v in values.items()}})


def test_a_writable_bucket_passes_and_keeps_no_probe(s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.new_bucket()
    (tmp_path / "data").mkdir()
    rows = storage_rows(_settings(tmp_path / "data", lake_url=f"s3://{bucket}/lake", archive_url=f"s3://{bucket}/raw"))
    assert [(check, ok) for check, ok, _ in rows] == [("storage", True)] * 3, rows
    assert f"lake s3://{bucket}/lake: writable" in rows[0][2] and f"archive s3://{bucket}/raw" in rows[1][2]
    assert s3_env.objects(bucket) == {}
    assert not any(p.name.startswith(PROBE_PREFIX) for p in (tmp_path / "data").iterdir())


def test_a_missing_bucket_fails_naming_the_fix(s3_env: S3Server, tmp_path: Path) -> None:
    rows = storage_rows(_settings(tmp_path / "data", lake_url="s3://no-such-bucket-here/lake"))
    check, ok, detail = rows[0]
    assert (check, ok) == ("storage", False)
    assert "s3://no-such-bucket-here/lake" in detail and "bucket exists" in detail and "AWS_ENDPOINT_URL" in detail
    assert "test-secret-key" not in detail


def test_an_unreachable_endpoint_fails(s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.new_bucket()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    rows = storage_rows(_settings(tmp_path / "data", archive_url=f"s3://{bucket}/raw"))
    assert rows[0][:2] == ("storage", False) and "cannot write" in rows[0][2]


def test_a_data_directory_that_is_a_file_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a directory")
    (row,) = storage_rows(_settings(data))
    assert row[:2] == ("storage", False) and "TMEET_DATA_DIR" in row[2]


def test_a_data_directory_not_created_yet_passes(tmp_path: Path) -> None:
    (row,) = storage_rows(_settings(tmp_path / "new" / "data"))
    assert row[:2] == ("storage", True) and "first sync creates it" in row[2]
