"""The raw-page archive: replayable, atomic per partition, and free of credentials."""

from __future__ import annotations

import datetime as dt
import errno
import gzip
from pathlib import Path

import pytest

from resources import atomic_files
from resources.atomic_files import StorageWriteError
from resources.raw_archive import REDACTED, RawArchive

DAY = dt.date(2026, 3, 1)
ACCESS_TOKEN = "at-4f1c0e9d2b7a"
REFRESH_TOKEN = "rt-9a8b7c6d5e4f"
SIGNATURE = "c0ffee0123456789"


def envelope(page: int, **extra: object) -> dict[str, object]:
    return {
        "endpoint": "GET /v1/meetings/{meeting_id}/participants",
        "params": {"meeting_id": "12345678901234567890", "pos": page * 100, "size": 100},
        "status": 200,
        "fetched_at": dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=page),
        "page": page,
        **extra,
    }


def body(page: int) -> dict[str, object]:
    return {
        "meeting_id": "12345678901234567890",
        "has_remaining": page < 2,
        "participants": [{"userid": f"u{page}", "user_name": "5byg5LiJ", "join_time": "1772323200"}],
    }


def test_pages_replay_in_order_with_their_envelopes(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    with archive.writer("participants", DAY) as writer:
        for page in range(3):
            writer.append(envelope(page), body(page))
        writer.append(envelope(3, status=200), b"\x00\x01 not json")

    path = tmp_path / "raw" / "participants" / "date=2026-03-01" / "pages.jsonl.gz"
    assert path.is_file()
    pages = list(archive.iter_pages("participants", "2026-03-01"))
    assert [p.envelope["page"] for p in pages] == [0, 1, 2, 3]
    assert [p.body for p in pages[:3]] == [body(0), body(1), body(2)]
    assert pages[3].body == b"\x00\x01 not json"
    assert pages[0].envelope["fetched_at"] == "2026-03-01T08:00:00+00:00"
    assert pages[1].envelope["params"] == {"meeting_id": "12345678901234567890", "pos": 100, "size": 100}
    assert archive.partitions("participants") == [DAY]


def test_rewriting_a_partition_replaces_its_pages_and_failures_keep_them(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    with archive.writer("participants", DAY) as writer:
        writer.append(envelope(0), body(0))
        writer.append(envelope(1), body(1))
    first = archive.path("participants", DAY).read_bytes()

    with archive.writer("participants", DAY) as writer:
        writer.append(envelope(0), body(0))
        writer.append(envelope(1), body(1))
    assert archive.path("participants", DAY).read_bytes() == first

    with pytest.raises(TimeoutError):
        with archive.writer("participants", DAY) as writer:
            writer.append(envelope(5), body(5))
            raise TimeoutError("API timed out")
    assert [p.envelope["page"] for p in archive.iter_pages("participants", DAY)] == [0, 1]

    with archive.writer("participants", DAY):
        pass
    assert list(archive.iter_pages("participants", DAY)) == []
    assert not [p for p in (tmp_path / "raw").rglob("*.inprogress")]


def test_no_credential_reaches_disk(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    leaky_envelope = envelope(
        0,
        headers={"AccessToken": ACCESS_TOKEN, "X-TC-Signature": SIGNATURE, "OpenId": "open-1"},
        params={"refresh_token": REFRESH_TOKEN, "page_token": "cursor-2", "sdk_id": "200001"},
    )
    leaky_body = {
        "data": {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "expires": 1},
        "meeting_info_list": [{"meeting_id": "1", "password": "987654", "sharing_url": "https://x/s?sig=s3cr3t"}],
        "next_page_token": "cursor-3",
    }
    with archive.writer("meetings", DAY) as writer:
        writer.append(leaky_envelope, leaky_body)
        writer.append(envelope(1), ('{"Authorization": "Bearer ' + ACCESS_TOKEN + '", "ok": 1}').encode())
        writer.append(envelope(2), {"meeting_info_list": [{"meeting_id": "2", "password": ""}]})

    plain = gzip.decompress(archive.path("meetings", DAY).read_bytes()).decode()
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, SIGNATURE, "987654", "s3cr3t"):
        assert secret not in plain
    pages = list(archive.iter_pages("meetings", DAY))
    assert pages[0].envelope["headers"] == {"AccessToken": REDACTED, "X-TC-Signature": REDACTED, "OpenId": "open-1"}
    assert pages[0].envelope["params"] == {"refresh_token": REDACTED, "page_token": "cursor-2", "sdk_id": "200001"}
    assert pages[0].body["data"] == {"access_token": REDACTED, "refresh_token": REDACTED, "expires": 1}
    assert pages[0].body["next_page_token"] == "cursor-3"
    assert pages[1].body == b'{"Authorization":"[redacted]","ok":1}'
    assert pages[2].body == {"meeting_info_list": [{"meeting_id": "2", "password": ""}]}


def test_envelope_needs_endpoint_and_params_and_pages_are_numbered(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    with pytest.raises(ValueError, match=r"missing \['params'\]"):
        with archive.writer("meetings", DAY) as writer:
            writer.append({"endpoint": "GET /v1/corp/meetings", "status": 200}, {})
    assert archive.partitions("meetings") == []
    with archive.writer("meetings", DAY) as writer:
        writer.append({"endpoint": "GET /v1/corp/meetings", "params": {"page": 1}}, {"n": 1})
        writer.append({"endpoint": "GET /v1/corp/meetings", "params": {"page": 2}}, {"n": 2})
    assert [p.envelope["page"] for p in archive.iter_pages("meetings", DAY)] == [0, 1]
    day2 = DAY + dt.timedelta(days=1)
    with pytest.raises(FileNotFoundError, match="run the asset"):
        list(archive.iter_pages("meetings", day2))


def test_unpartitioned_assets_live_at_the_asset_root(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    with archive.writer("users", None) as writer:
        writer.append(envelope(0), {"users": [{"userid": "u1"}]})
    assert (tmp_path / "raw" / "users" / "pages.jsonl.gz").is_file()
    assert [p.body for p in archive.iter_pages("users", None)] == [{"users": [{"userid": "u1"}]}]
    assert archive.partitions("users") == []


def test_disk_full_names_the_path_and_keeps_the_previous_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = RawArchive(tmp_path / "raw")
    with archive.writer("participants", DAY) as writer:
        writer.append(envelope(0), body(0))
    # /dev/full answers every write with a real ENOSPC from the kernel.
    monkeypatch.setattr(atomic_files, "_open_temp", lambda path: open("/dev/full", "wb"))  # noqa: SIM115

    with pytest.raises(StorageWriteError) as caught:
        with archive.writer("participants", DAY) as writer:
            for page in range(1, 400):
                writer.append(envelope(page), body(page))
    assert caught.value.errno == errno.ENOSPC
    assert str(archive.path("participants", DAY)) in str(caught.value)
    assert "full" in str(caught.value)
    assert [p.envelope["page"] for p in archive.iter_pages("participants", DAY)] == [0]


def test_a_body_with_a_lone_surrogate_replays_exactly(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    broken = {"records": [{"subject": "weekly\ud800", "note": "周会"}]}
    with archive.writer("recordings", DAY) as writer:
        writer.append(envelope(0), broken)
        writer.append(envelope(1), body(1))
    pages = list(archive.iter_pages("recordings", DAY))
    assert [p.body for p in pages] == [broken, body(1)]
