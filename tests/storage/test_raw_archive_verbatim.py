"""Pages are archived verbatim when they cannot hold a secret, and redacted when they might."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

from resources.raw_archive import REDACTED, RawArchive

DAY = date(2026, 6, 16)


def _archive(tmp_path: Path, raw: bytes) -> tuple[RawArchive, bytes]:
    archive = RawArchive(tmp_path / "raw")
    with archive.writer("participant_sessions", DAY) as writer:
        writer.append({"endpoint": "GET /v1/x", "params": {"pos": 0}}, json.loads(raw), raw_json=raw)
    stored = gzip.decompress(archive.path("participant_sessions", DAY).read_bytes())
    return archive, stored


def test_a_safe_body_is_kept_byte_for_byte(tmp_path: Path) -> None:
    raw = '{"participants":[{"userid":"u1","user_name":"5byg5LiJ","join_time":"1700000012"}],"has_remaining":false}'
    archive, stored = _archive(tmp_path, raw.encode())
    assert raw.encode() in stored
    (page,) = list(archive.iter_pages("participant_sessions", DAY))
    assert page.body == json.loads(raw)
    assert page.envelope["endpoint"] == "GET /v1/x"


def test_a_body_that_may_hold_a_secret_is_redacted(tmp_path: Path) -> None:
    raw = b'{"record_files":[{"record_file_id":"f1","sharing_url":"https://x/s?k=canary123456","password":"p4ss"}]}'
    archive, stored = _archive(tmp_path, raw)
    assert b"canary123456" not in stored and b"p4ss" not in stored
    (page,) = list(archive.iter_pages("participant_sessions", DAY))
    assert page.body["record_files"][0]["sharing_url"] == REDACTED
    assert page.body["record_files"][0]["record_file_id"] == "f1"


def test_a_multi_line_body_is_re_encoded_so_each_page_stays_one_line(tmp_path: Path) -> None:
    raw = b'{\n  "events": [{"userid": "u1"}]\n}'
    archive, stored = _archive(tmp_path, raw)
    assert stored.count(b"\n") == 1
    (page,) = list(archive.iter_pages("participant_sessions", DAY))
    assert page.body == {"events": [{"userid": "u1"}]}
