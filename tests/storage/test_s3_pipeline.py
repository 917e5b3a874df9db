"""The whole pipeline with the lake and the raw archive on S3 (moto on loopback): sync, re-run, rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.warehouse import publish
from emulator.truth import compute_truth
from pipelines.cli import main
from pipelines.sync import run_sync
from resources.dagster_resources import StorageResource
from resources.lake import Lake
from resources.objectstore import POINTER_SUFFIX
from resources.raw_archive import RawArchive
from tests.pipeline.conftest import FIRST, LAST, TRUTH_TABLES, assert_tables_equal, pipeline_emulator
from tests.storage.s3_server import S3Server
from tests.storage.test_incremental_publish import assert_same_warehouse


def lake_objects(s3: S3Server, bucket: str) -> dict[str, bytes]:
    """The lake's objects and pointers, less the run logs (their names and rows differ per run)."""
    return {k: v for k, v in s3.objects(bucket).items()
            if k.startswith("lake/") and not k.startswith("lake/sync_log/")}


def local_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (".parquet" in p.name or ".jsonl" in p.name)]


def download(lake: Lake, target: Path) -> None:
    """The S3 lake's current files at their logical paths on disk: the same lake, read the local way."""
    assert lake.remote is not None
    for pointer in lake.remote.pointers(""):
        path = target / pointer.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(lake.remote.read(pointer))


@pytest.fixture
def s3_locations(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> tuple[S3Server, str]:
    bucket = s3_env.new_bucket()
    monkeypatch.setenv("TMEET_LAKE_URL", f"s3://{bucket}/lake")
    monkeypatch.setenv("TMEET_ARCHIVE_URL", f"s3://{bucket}/raw")
    return s3_env, bucket


def test_sync_to_s3_equals_the_truth_writes_nothing_local_and_reruns_byte_identically(
    s3_locations: tuple[S3Server, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3, bucket = s3_locations
    with pipeline_emulator(monkeypatch, tmp_path) as (emu, data_dir):
        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
        synced = lake_objects(s3, bucket)
        assert run_sync(FIRST, LAST).success
        rerun = lake_objects(s3, bucket)

    lake = Lake.from_data_dir(data_dir)
    assert lake.remote is not None
    for table in TRUTH_TABLES:
        assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
        assert_tables_equal(table, lake.read(table), truth[table])
    assert RawArchive.from_data_dir(data_dir).partitions("meetings") == lake.partitions("meetings")
    # Nothing of the lake or the archive is on the local disk; the warehouse is.
    assert local_files(tmp_path) == []
    assert (data_dir / "warehouse.duckdb").is_file()
    # The re-run wrote the same objects and the same pointers, byte for byte.
    assert any(k.endswith(POINTER_SUFFIX) for k in synced) and rerun == synced

    # The warehouse built from the S3 lake equals one built from the same lake on disk.
    local_dir = tmp_path / "local"
    download(lake, local_dir / "lake")
    monkeypatch.delenv("TMEET_LAKE_URL")
    publish(StorageResource(data_dir=str(local_dir)))
    assert_same_warehouse(data_dir / "warehouse.duckdb", local_dir / "warehouse.duckdb")


def test_rebuild_from_the_s3_archive_gives_the_same_s3_lake(
    s3_locations: tuple[S3Server, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3, bucket = s3_locations
    with pipeline_emulator(monkeypatch, tmp_path) as (emu, data_dir):
        assert run_sync(FIRST, LAST, include_snapshots=True).success
        truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    synced = lake_objects(s3, bucket)
    assert any("/upcoming_meetings/" in key for key in synced)

    # The emulator is stopped (any API call would fail) and the S3 lake is gone.
    client = s3.client()
    for key in s3.objects(bucket):
        if key.startswith("lake/"):
            client.delete_object(Bucket=bucket, Key=key)
    (data_dir / "warehouse.duckdb").unlink()
    assert main(["rebuild"]) == 0

    lake = Lake.from_data_dir(data_dir)
    for table in TRUTH_TABLES:
        assert_tables_equal(table, lake.read(table), truth[table])
    rebuilt = lake_objects(s3, bucket)
    assert {k: v for k, v in rebuilt.items() if k in synced} == synced
    assert (data_dir / "warehouse.duckdb").is_file()
    assert local_files(tmp_path) == []
