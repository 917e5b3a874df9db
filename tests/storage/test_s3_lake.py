"""The lake, the raw archive and the warehouse publish on a real S3 API server (moto, loopback)."""

from __future__ import annotations

import datetime as dt
import json
import re
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from resources.lake import Lake
from resources.objectstore import OBJECTS_DIR, POINTER_SUFFIX
from resources.raw_archive import RawArchive
from resources.warehouse import Warehouse
from tests.storage.helpers import EVENTS_SCHEMA, events_frame
from tests.storage.s3_server import S3Server
from tests.storage.tables import TABLES
from tests.storage.test_incremental_publish import PARTITION_COLUMNS, assert_same_warehouse
from tests.storage.test_reports import AS_OF, D1, D2, SQL_DIR, build_inputs, land

DAY = dt.date(2026, 6, 12)
ROOT = Path(__file__).resolve().parents[2]


def pointer_key(table: str, day: dt.date, name: str = "part-0.parquet") -> str:
    return f"lake/{table}/date={day.isoformat()}/{name}{POINTER_SUFFIX}"


def data_objects(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in objects.items() if f"/{OBJECTS_DIR}/" in k}


def test_a_partition_is_a_content_addressed_object_named_by_a_pointer(s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.new_bucket()
    remote, local = Lake(f"s3://{bucket}/lake"), Lake(tmp_path / "lake")
    frame = events_frame(DAY, 300)
    remote.write_partition("events", EVENTS_SCHEMA, DAY, frame)
    local.write_partition("events", EVENTS_SCHEMA, DAY, frame)

    objects = s3_env.objects(bucket)
    pointer = json.loads(objects[pointer_key("events", DAY)])
    (key, body), = data_objects(objects).items()
    # The object holds exactly the bytes the local lake writes, under a key naming their SHA-256.
    assert body == local.partition_path("events", DAY).read_bytes()
    assert key == f"lake/events/date={DAY}/{OBJECTS_DIR}/{pointer['object']}"
    assert pointer["object"] == f"part-0-{pointer['sha256']}.parquet" and pointer["size"] == len(body)
    pd.testing.assert_frame_equal(remote.read("events"), local.read("events"))
    assert remote.partitions("events") == [DAY]
    assert remote.has_files("events") and not remote.has_files("other")


def test_a_rerun_leaves_every_object_and_pointer_byte_identical(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    lake = Lake(f"s3://{bucket}/lake", gc_grace_seconds=0)
    archive = RawArchive(f"s3://{bucket}/raw")

    def run() -> None:
        lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 200))
        lake.write_snapshot("events", EVENTS_SCHEMA, DAY, "093000", events_frame(DAY, 20, "snap"))
        lake.write_unpartitioned("events", EVENTS_SCHEMA, events_frame(DAY, 5, "dir"))
        with archive.writer("meetings", DAY) as raw:
            for page in range(3):
                raw.append({"endpoint": "/v1/corp/meetings", "params": {"page": page}}, {"page": page})

    run()
    first = s3_env.objects(bucket)
    run()
    assert s3_env.objects(bucket) == first
    assert len(data_objects(first)) == 4


def test_a_replaced_partition_switches_whole_and_its_old_object_is_collected(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    lake = Lake(f"s3://{bucket}/lake", gc_grace_seconds=0)
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 100, "old"))
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 40, "new"))

    assert set(lake.read("events")["version"]) == {"new"} and len(lake.read("events")) == 40
    assert len(data_objects(s3_env.objects(bucket))) == 1


def test_a_failed_write_changes_nothing(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    lake = Lake(f"s3://{bucket}/lake")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 50, "old"))
    before = s3_env.objects(bucket)
    with pytest.raises(RuntimeError, match="network"):
        with lake.partition_writer("events", EVENTS_SCHEMA, DAY) as writer:
            writer.write(events_frame(DAY, 10, "new"))
            raise RuntimeError("network error mid-partition")
    assert s3_env.objects(bucket) == before


KILLED_WRITER = textwrap.dedent(
    """
    import datetime as dt, os, sys
    import resources.objectstore as objectstore
    from resources.lake import Lake
    from resources.raw_archive import RawArchive
    from tests.storage.helpers import EVENTS_SCHEMA, events_frame

    def killed(tree, pointer):
        os._exit(9)  # killed between the object PUT and the pointer PUT: no cleanup runs

    objectstore._write_pointer = killed
    bucket, day = sys.argv[1], dt.date.fromisoformat(sys.argv[2])
    if sys.argv[3] == "lake":
        Lake(f"s3://{bucket}/lake").write_partition(
            "events", EVENTS_SCHEMA, day, events_frame(day, 70, "new"))
    else:
        with RawArchive(f"s3://{bucket}/raw").writer("meetings", day) as raw:
            raw.append({"endpoint": "/v1/corp/meetings", "params": {}}, {"version": "new"})
    """
)


def kill_a_writer(s3: S3Server, bucket: str, day: dt.date, what: str) -> None:
    env = {**os.environ, **s3.env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, bucket, day.isoformat(), what], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr


def test_a_writer_killed_before_the_switch_leaves_the_previous_partition_whole(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    lake = Lake(f"s3://{bucket}/lake")
    archive = RawArchive(f"s3://{bucket}/raw")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 30, "old"))
    with archive.writer("meetings", DAY) as raw:
        raw.append({"endpoint": "/v1/corp/meetings", "params": {}}, {"version": "old"})
    before = s3_env.objects(bucket)
    new_day = DAY + dt.timedelta(days=1)

    for day in (DAY, new_day):
        kill_a_writer(s3_env, bucket, day, "lake")
        kill_a_writer(s3_env, bucket, day, "raw")

    after = s3_env.objects(bucket)
    # The new objects were stored, yet no pointer moved: readers see the old version or nothing.
    assert len(data_objects(after)) == len(data_objects(before)) + 4
    assert {k: v for k, v in after.items() if k.endswith(POINTER_SUFFIX)} == {
        k: v for k, v in before.items() if k.endswith(POINTER_SUFFIX)
    }
    read = lake.read("events")
    assert set(read["version"]) == {"old"} and len(read) == 30
    assert lake.partitions("events") == [DAY]
    assert [p.body for p in archive.iter_pages("meetings", DAY)] == [{"version": "old"}]
    assert archive.partitions("meetings") == [DAY] and not archive.has_pages("meetings", new_day)

    # The sweep removes the orphans once they are past the grace period, and nothing else.
    assert lake.sweep(grace_seconds=3600) == [] and archive.sweep(grace_seconds=3600) == []
    assert len(lake.sweep(grace_seconds=0)) == 2 and len(archive.sweep(grace_seconds=0)) == 2
    assert s3_env.objects(bucket) == before


def test_the_warehouse_built_from_the_s3_lake_equals_the_local_one_and_updates_incrementally(
    s3_env: S3Server, tmp_path: Path
) -> None:
    bucket = s3_env.new_bucket()
    remote, local = Lake(f"s3://{bucket}/lake", gc_grace_seconds=0), Lake(tmp_path / "lake")
    inputs = build_inputs()
    for lake in (remote, local):
        land(lake, inputs)

    def publish(where: str, lake: Lake) -> tuple[Warehouse, object]:
        warehouse = Warehouse(tmp_path / where / "warehouse.duckdb")
        result = warehouse.publish(lake, TABLES, SQL_DIR, report_as_of=AS_OF, partition_columns=PARTITION_COLUMNS,
                                   keys={"meetings": ["meeting_id", "sub_meeting_id", "start_time"]})
        return warehouse, result

    (from_s3, first), (from_disk, _) = publish("s3", remote), publish("local", local)
    assert first.mode == "full"
    assert_same_warehouse(from_s3.path, from_disk.path)

    # Nothing changed: nothing is reloaded (the pointers' digests match the manifest).
    again = publish("s3", remote)[1]
    assert again.mode == "incremental" and not {t: d for t, d in again.reloaded.items()
                                                 if not t.startswith("report_")}

    # One partition changes on both lakes: only it is reloaded, and the result still matches.
    meetings = inputs["meetings"]
    changed = meetings[meetings["business_date"] == D2].assign(subject="Renamed").reset_index(drop=True)
    for lake in (remote, local):
        lake.write_partition("meetings", TABLES["meetings"], D2, changed)
    patched = publish("s3", remote)[1]
    publish("local", local)
    assert patched.mode == "incremental"
    assert patched.reloaded["meetings"] == [D2.isoformat()]
    assert D1.isoformat() not in patched.reloaded.get("meetings", [])
    assert_same_warehouse(from_s3.path, from_disk.path)
    # The report tables are written back to the S3 lake, not to the local disk.
    assert remote.has_files("report_daily_usage")
    assert not (tmp_path / "s3" / "lake").exists()


def test_the_documented_way_for_bi_tools_reads_exactly_the_current_files(s3_env: S3Server) -> None:
    bucket = s3_env.new_bucket()
    lake = Lake(f"s3://{bucket}/tmeet/lake")
    meetings = TABLES["meetings"]
    frame = build_inputs()["meetings"]
    for day, part in frame.groupby(frame["business_date"].astype(object)):
        lake.write_partition("meetings", meetings, day, part.reset_index(drop=True))
    # A replaced version not yet collected (recent), and a killed writer's orphan: neither may be read.
    first_day = frame[frame["business_date"] == D1].reset_index(drop=True)
    lake.write_partition("meetings", meetings, D1, first_day.assign(subject="Replaced"))
    lake.write_partition("meetings", meetings, D1, first_day)
    objects = s3_env.objects(bucket)
    orphan = f"tmeet/lake/meetings/date={D2}/{OBJECTS_DIR}/part-0-{'0' * 64}.parquet"
    s3_env.client().put_object(Bucket=bucket, Key=orphan, Body=next(
        body for key, body in objects.items() if f"date={D1}/{OBJECTS_DIR}/" in key))
    assert len(data_objects(s3_env.objects(bucket))) == 4

    (block,) = re.findall(r"```py\n(.*?)```", (ROOT / "docs" / "bi.md").read_text(encoding="utf-8"), re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(block.replace("s3://analytics/", f"s3://{bucket}/"), "docs/bi.md S3 block", "exec"), namespace)
    read = namespace["meetings"].to_pandas(types_mapper=pd.ArrowDtype)  # type: ignore[attr-defined]
    key = ["meeting_id", "sub_meeting_id", "start_time"]
    pd.testing.assert_frame_equal(read.sort_values(key, ignore_index=True),
                                  lake.read("meetings").sort_values(key, ignore_index=True))
