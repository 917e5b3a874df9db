"""The directory: users, their departments, and roles — a snapshot of current state."""

from collections.abc import Iterable, Iterator
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._dagster import (
    API_POOL,
    API_RETRY,
    check,
    conservation_check,
    conservation_spec,
    result,
    scoped,
    sync_context,
)
from assets._sync import (
    Derived,
    Landed,
    PageData,
    SyncContext,
    Tally,
    archive_page,
    archive_record,
    combine_counted,
    land,
    tally_of,
)
from assets.normalize.users import normalize_corp_users, normalize_roles, normalize_user_info
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.tencent.scopes import E_CORP_ROLES, E_CORP_USERS, E_USER_INFO

ASSET = "directory"
TABLES = ("users", "user_departments", "roles")


def extract_directory(ctx: SyncContext, *, include_roles: bool = True) -> dict[str, Landed]:
    """Replace the three directory tables.

    Account-level apps list the whole account; a user-level app only knows its authorizing
    users (keyed by open_id) and has no access to departments or roles, which stay empty.
    """
    pages: list[PageData] = []
    with ctx.raw.writer(ASSET, None) as raw:
        for client in ctx.clients:
            if client.app_type in ("account", "aksk"):
                pages.extend(archive_page(raw, page) for page in client.iter_corp_users())
                if include_roles:
                    pages.extend(archive_page(raw, page) for page in client.iter_roles())
            else:
                assert client.open_id is not None
                info = client.get_user_info()
                pages.append(archive_record(raw, E_USER_INFO, {}, info, {"open_id": client.open_id}))
    return land(ctx, derive_directory(pages, ctx.tz), None, ASSET)


def derive_directory(pages: Iterable[PageData], tz: str) -> Derived:
    """Account user and role pages, or each authorizing user's own info -> the three directory tables."""
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    quarantine: list[pd.DataFrame] = []
    received = {"users": 0, "roles": 0}
    repeats = {"users": 0, "roles": 0}
    # Pages are pooled per endpoint and normalized once: a large account has hundreds of pages.
    user_records: list[Any] = []
    role_records: list[Any] = []
    for page in pages:
        if page.endpoint == E_CORP_USERS:
            user_records.extend(page.records)
        elif page.endpoint == E_CORP_ROLES:
            role_records.extend(page.records)
        elif page.endpoint == E_USER_INFO:
            for record in page.records:
                user = normalize_user_info(page.context["open_id"], record)
                frames["users"].append(user.frame)
                quarantine.append(user.quarantine)
                received["users"] += 1
                repeats["users"] += user.deduplicated
        else:
            raise ValueError(f"a directory page from {page.endpoint!r} cannot be derived; the archive is not ours")
    if user_records:
        users, departments = normalize_corp_users(user_records, tz)
        frames["users"].append(users.frame)
        frames["user_departments"].append(departments.frame)
        quarantine.extend([users.quarantine, departments.quarantine])
        received["users"] += len(user_records)
        repeats["users"] += users.deduplicated
    if role_records:
        roles = normalize_roles(role_records)
        frames["roles"].append(roles.frame)
        quarantine.append(roles.quarantine)
        received["roles"] += len(role_records)
        repeats["roles"] += roles.deduplicated
    combined: dict[str, pd.DataFrame] = {}
    tallies: dict[str, Tally] = {}
    for table in TABLES:
        combined[table], across = combine_counted(table, frames[table])
        if table in received:
            tallies[table] = tally_of(table, received[table], combined[table], quarantine, repeats[table] + across)
    return Derived(combined, quarantine, tallies)


@dg.multi_asset(
    can_subset=True,
    specs=[
        dg.AssetSpec("users", skippable=True, description="Every user of the account, with status, role and main department.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
        dg.AssetSpec("user_departments", skippable=True, description="Which departments each user belongs to.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
        dg.AssetSpec("roles", skippable=True, description="The account's roles and how many members each has.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
    ],
    check_specs=[
        dg.AssetCheckSpec("userid_unique", asset="users", description="One row per userid."),
        dg.AssetCheckSpec("one_main_department", asset="user_departments",
                          description="No user has more than one main department."),
        conservation_spec("users"),
        conservation_spec("roles"),
    ],
    pool=API_POOL,
    retry_policy=API_RETRY,
)
@scoped
def directory(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the account's users, departments and roles (current state)."""
    with sync_context(context, tencent, storage, ASSET) as ctx:
        landed = extract_directory(ctx)
    users = ctx.lake.read("users")
    departments = ctx.lake.read("user_departments")
    mains = departments[departments["is_main"].fillna(False)].groupby("userid").size()
    stats = ctx.stats()
    yield result("users", landed["users"], stats, [
        check("users", "userid_unique", not users["userid"].duplicated().any(), "userid is unique"),
        conservation_check("users", landed["users"].tally),
    ])
    yield result("user_departments", landed["user_departments"], None, [
        check("user_departments", "one_main_department", bool((mains <= 1).all()),
              "at most one main department per user", warn=True),
    ])
    yield result("roles", landed["roles"], None, [conservation_check("roles", landed["roles"].tally)])
