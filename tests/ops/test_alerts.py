"""Alerts reach a local receiver in the WeCom, Feishu/Lark and Slack formats: a failed run, a stale partition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.participants import participants
from emulator.testing import EmulatorHandle
from pipelines.alerting import FRESH_CHECK, FRESH_TABLES, expected_day, freshness_alert_sensor, run_failure_alert_sensor
from pipelines.definitions import defs
from assets.partitions import account_timezone, daily_partitions
from resources.alerts import AlertSettings, feishu_sign
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.settings import ConfigError
from tests.ops.alert_receiver import alert_receiver, text_of
from tests.pipeline.conftest import LAST

FEISHU_SECRET = "feishu-signing-secret"


@pytest.mark.parametrize("fmt", ["wecom", "feishu", "slack"])
def test_a_failed_run_alerts_the_configured_webhook(
    fmt: str, pipeline_env: tuple[EmulatorHandle, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with alert_receiver(fmt) as receiver, dg.instance_for_test() as instance:
        monkeypatch.setenv("TMEET_ALERT_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("TMEET_ALERT_FORMAT", fmt)
        monkeypatch.setenv("TMEET_UI_URL", "http://dagster.example.internal:3000")
        if fmt == "feishu":
            monkeypatch.setenv("TMEET_ALERT_SECRET", FEISHU_SECRET)
        # A real failure: participants for a day whose meetings were never pulled.
        outcome = dg.materialize(
            [participants], partition_key=LAST.isoformat(), instance=instance, raise_on_error=False,
            resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        )
        assert not outcome.success
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None
        failure = next(e for e in outcome.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_instance=instance, dagster_run=run, dagster_event=failure,
        ).for_run_failure()
        run_failure_alert_sensor(context)

        assert len(receiver.received) == 1
        body = receiver.received[0]
        text = text_of(fmt, body)
        assert "run failed" in text and LAST.isoformat() in text and "meetings" in text, text
        assert f"http://dagster.example.internal:3000/runs/{run.run_id}" in text
        assert "bot-key-123" not in json.dumps(body)
        if fmt == "feishu":
            assert body["sign"] == feishu_sign(body["timestamp"], FEISHU_SECRET)


def test_a_stale_partition_fails_its_check_and_alerts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fmt = "wecom"
    tz = account_timezone()
    due = expected_day(datetime.now(UTC), tz)
    old = due - timedelta(days=3)
    assert daily_partitions.has_partition_key(old.isoformat())
    with alert_receiver(fmt) as receiver, dg.instance_for_test() as instance:
        monkeypatch.setenv("TMEET_ALERT_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("TMEET_ALERT_FORMAT", fmt)
        instance.report_runless_asset_event(dg.AssetMaterialization("meetings", partition=old.isoformat()))

        def tick(cursor: str | None) -> str | None:
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            freshness_alert_sensor(context)
            return context.cursor

        cursor = tick(None)
        assert len(receiver.received) == 1
        text = text_of(fmt, receiver.received[0])
        assert "meetings" in text and old.isoformat() in text and due.isoformat() in text, text
        assert f"tmeet-etl sync --start {old + timedelta(days=1)} --end {due}" in text
        assert _latest_check(instance, "meetings").status.value == "FAILED"

        cursor = tick(cursor)
        assert len(receiver.received) == 1, "a table still stale is not alerted again"

        instance.report_runless_asset_event(dg.AssetMaterialization("meetings", partition=due.isoformat()))
        tick(cursor)
        assert len(receiver.received) == 1
        assert _latest_check(instance, "meetings").status.value == "SUCCEEDED"


def test_alert_format_follows_the_host_and_errors_name_the_setting() -> None:
    detected = {url: AlertSettings.from_env({"TMEET_ALERT_WEBHOOK_URL": url}).format for url in (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "https://open.feishu.cn/open-apis/bot/v2/hook/k",
        "https://open.larksuite.com/open-apis/bot/v2/hook/k", "https://hooks.slack.com/services/T/B/k")}
    assert list(detected.values()) == ["wecom", "feishu", "feishu", "slack"]
    assert not AlertSettings.from_env({}).enabled
    with pytest.raises(ConfigError, match="TMEET_ALERT_FORMAT") as unknown:
        AlertSettings.from_env({"TMEET_ALERT_WEBHOOK_URL": "https://chat.example.com/hook/secret-key"})
    assert "secret-key" not in str(unknown.value)
    with pytest.raises(ConfigError, match="TMEET_ALERT_WEBHOOK_URL"):
        AlertSettings.from_env({"TMEET_ALERT_WEBHOOK_URL": "http://chat.example.com/hook/k"})


def _latest_check(instance: dg.DagsterInstance, table: str):  # type: ignore[no-untyped-def]
    key = dg.AssetCheckKey(dg.AssetKey(table), FRESH_CHECK)
    return instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]


def test_every_daily_table_has_a_freshness_policy_and_a_freshness_check() -> None:
    graph = defs().resolve_asset_graph()
    with_policy = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy}
    assert with_policy == set(FRESH_TABLES)
    checked = {k.asset_key.to_user_string() for k in graph.asset_check_keys if k.name == FRESH_CHECK}
    assert checked == set(FRESH_TABLES)
