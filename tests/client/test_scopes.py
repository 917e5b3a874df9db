from __future__ import annotations

import pytest

from assets import registry
from resources.tencent.scopes import ScopeNeed, plan_assets

NEEDS = registry.scope_needs()


def test_account_app_with_all_view_scopes_runs_everything() -> None:
    plan = plan_assets(NEEDS, "account", ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"])
    assert set(plan.run) == set(NEEDS) and not plan.skipped


def test_missing_scope_named_per_skipped_asset() -> None:
    plan = plan_assets(NEEDS, "account", ["查看所有用户的会议"])
    assert "meetings" in plan.run and "attendance" in plan.run
    assert "VIEW_ALL_RECORDS" in plan.skipped["recordings"]
    assert "VIEW_ALL_USERS" in plan.skipped["roles"]


def test_manage_scope_implies_view() -> None:
    assert "recordings" in plan_assets(NEEDS, "account", ["MANAGE_ALL_RECORDS"]).run


def test_user_level_app() -> None:
    plan = plan_assets(NEEDS, "user", ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"])
    assert "roles" in plan.skipped and "user_departments" in plan.skipped
    assert "account-level or AK/SK" in plan.skipped["roles"]
    assert {"users", "meetings", "recordings", "upcoming_meetings"} <= set(plan.run)
    # account-level scope names mean nothing to a user-level app
    assert "meetings" in plan_assets(NEEDS, "user", ["VIEW_ALL_MEETINGS"]).skipped


def test_aksk_plans_everything_when_scopes_unreported() -> None:
    assert set(plan_assets(NEEDS, "aksk", None).run) == set(NEEDS)


def test_every_api_asset_declares_a_scope_and_nothing_else_does() -> None:
    """The client knows no asset: the pull and snapshot assets name their scope in their tags."""
    assert set(NEEDS) == set(registry.tables(kind="pull")) | set(registry.tables(kind="snapshot"))


def test_an_unknown_scope_code_in_a_tag_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="VIEW_ALL_MEETINGS"):
        ScopeNeed("VIEW_ALL_MEETING", None)
