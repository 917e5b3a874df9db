"""Two accounts with the lake and the archive on S3 (moto) and the Dagster instance on Postgres."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from pipelines.cli import main
from tests.accounts.test_two_accounts import SYNC, account_runs, kill_during_the_second_account_then_rerun_it
from tests.accounts.world import AKSK_ID, OAUTH_ID, two_accounts
from tests.ops.postgres import postgres_server
from tests.ops.services import PROJECT_ROOT
from tests.storage.s3_server import S3Server


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_two_accounts_on_s3_and_postgres_land_their_own_truth_under_their_own_prefix_and_survive_a_kill(
    s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_env.new_bucket()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with postgres_server() as postgres_url, two_accounts(tmp_path, monkeypatch) as world:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url)
        monkeypatch.setenv("TMEET_LAKE_URL", f"s3://{bucket}/lake")
        monkeypatch.setenv("TMEET_ARCHIVE_URL", f"s3://{bucket}/raw")

        def south_pulling() -> bool:
            listing = s3_env.client().list_objects_v2(Bucket=bucket, Prefix=f"raw/{OAUTH_ID}/", MaxKeys=1)
            return bool(listing.get("KeyCount"))

        kill_during_the_second_account_then_rerun_it(world, monkeypatch, pulling=south_pulling)
        assert main(SYNC) == 0
        for account_id in (AKSK_ID, OAUTH_ID):
            world.assert_lake_is_its_truth(account_id, monkeypatch)
            assert account_runs(world, account_id)[-1].status == DagsterRunStatus.SUCCESS

    keys = set(s3_env.objects(bucket))
    for account_id in (AKSK_ID, OAUTH_ID):
        assert any(k.startswith(f"lake/{account_id}/meetings/") for k in keys)
        assert any(k.startswith(f"raw/{account_id}/") for k in keys)
    assert not any(k.startswith("lake/meetings/") for k in keys), "an account wrote outside its prefix"
    # Nothing of either lake or archive on the local disk: only the warehouses and the state.
    local = [p for p in tmp_path.rglob("*.parquet") if p.is_file()]
    assert local == []
