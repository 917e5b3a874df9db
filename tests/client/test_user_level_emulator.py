"""A user-level OAuth app: pos/cursory, history and records walks for one authorizing user, under hostile faults."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from emulator.api.meetings import attended
from emulator.testing import running_emulator
from emulator.truth import compute_truth
from pipelines.auth_cli import login
from resources.tencent.client import TencentMeetingClient
from tests.client.conftest import free_port, settings_for, write_apps
from tests.client.test_pagination_emulator import NOW, START, TRUTH_RANGE, records


def test_user_level_walks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    apps = write_apps(tmp_path, redirect)
    # The scope table's reading: a user-level app reads all of its user's meetings, however created.
    with running_emulator(apps_path=str(apps), scale="small", now=NOW, faults="hostile", seed=5,
                          rate_limit="off", revoke_after=3, platform="scope-table") as emu:
        ent = emu.enterprise
        soon = ent.live_instances() + ent.upcoming_instances()
        user = Counter(i.creator for i in soon).most_common(1)[0][0]
        settings = settings_for(emu.base_url, tmp_path / "data", sdk="300000002", app_type="user",
                                redirect=redirect, TMEET_QUOTA_WINDOW_SECONDS="0.2", TMEET_RETRY_ATTEMPTS="8")

        def browser(url: str) -> None:
            def run() -> None:
                resp = httpx.get(url + "&" + urlencode({"login_userid": user}), timeout=10)
                httpx.get(resp.headers["location"], timeout=10)

            threading.Thread(target=run, daemon=True).start()

        login(settings, open_browser=browser, out=lambda _: None, timeout=20)
        client = TencentMeetingClient(settings, sleep=lambda s: __import__("time").sleep(min(s, 0.2)))

        got = {m["meeting_id"] for m in records(client.iter_user_meetings())}
        assert got == {i.meeting_id for i in soon if i.creator == user or attended(ent, i, user)}

        truth = compute_truth(ent, **TRUTH_RANGE)
        ended = {(m["meeting_id"], m.get("sub_meeting_id") or "") for m in
                 records(client.iter_user_ended_meetings(START, NOW))}
        tm = truth["meetings"]
        mine = set(tm[tm.creator_userid == user][["meeting_id", "sub_meeting_id"]].itertuples(index=False, name=None))
        ps = truth["participant_sessions"]
        joined = set(ps[ps.userid == user][["meeting_id", "sub_meeting_id"]].itertuples(index=False, name=None))
        assert mine | joined <= ended | _not_over(ent, NOW)
        assert ended <= set(tm[["meeting_id", "sub_meeting_id"]].itertuples(index=False, name=None))

        recs = {r["meeting_record_id"] for r in records(client.iter_records(START, NOW))}
        tr = truth["recordings"]
        assert recs == set(tr[tr.host_userid == user].meeting_record_id)

        info = client.get_user_info()
        assert isinstance(info, dict) and info
        stats = emu.stats()
        assert client.tokens is not None
        final = client.tokens.store.read_all()
        client.close()
    secrets = [t.access_token for t in final.values()] + [t.refresh_token for t in final.values()]
    secrets += [settings.secret.get_secret_value()] if settings.secret else []
    for record in caplog.records:
        assert not any(s in record.getMessage() for s in secrets)
    assert stats["faults"].get("revoke_token", 0) == 1
    assert stats["oauth"]["refreshes"] == 1  # the revoked token was refreshed exactly once


def _not_over(ent: Any, now: datetime) -> set[tuple[str, str]]:
    # Ended early but still inside the scheduled slot: the history endpoint lists them only later.
    now_s = int(now.timestamp())
    return {(i.meeting_id, i.sub_meeting_id) for d in ent.covered_days(START.date(), now.date())
            for i in ent.day(d) if i.sched_end > now_s}
