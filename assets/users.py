"""The directory: users, their departments, and roles — a snapshot of current state."""


from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from assets._dagster import API_POOL, API_RETRY, check, result, sync_context
from assets._sync import Landed, SyncContext, archive_page, combine, write_quarantine
from assets.normalize.users import normalize_corp_users, normalize_roles, normalize_user_info
from assets.schemas import SCHEMAS
from resources.dagster_resources import StorageResource, TencentMeetingResource

ASSET = "directory"
TABLES = ("users", "user_departments", "roles")


def extract_directory(ctx: SyncContext, *, include_roles: bool = True) -> dict[str, Landed]:
    """Replace the three directory tables.

    Account-level apps list the whole account; a user-level app only knows its authorizing
    users (keyed by open_id) and has no access to departments or roles, which stay empty.
    """
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    quarantine: list[pd.DataFrame] = []
    with ctx.raw.writer(ASSET, None) as raw:
        for client in ctx.clients:
            if client.app_type in ("account", "aksk"):
                for page in client.iter_corp_users():
                    archive_page(raw, page)
                    users, departments = normalize_corp_users(page.records, ctx.tz)
                    frames["users"].append(users.frame)
                    frames["user_departments"].append(departments.frame)
                    quarantine.extend([users.quarantine, departments.quarantine])
                if include_roles:
                    for page in client.iter_roles():
                        archive_page(raw, page)
                        roles = normalize_roles(page.records)
                        frames["roles"].append(roles.frame)
                        quarantine.append(roles.quarantine)
            else:
                assert client.open_id is not None
                info = client.get_user_info()
                raw.append({"endpoint": "GET /v1/users/info/basic", "params": {}}, info)
                user = normalize_user_info(client.open_id, info)
                frames["users"].append(user.frame)
                quarantine.append(user.quarantine)
    landed: dict[str, Landed] = {}
    for table in TABLES:
        frame = combine(table, frames[table])
        ctx.lake.write_unpartitioned(table, SCHEMAS[table], frame)
        landed[table] = Landed(table)
        landed[table].add(None, frame)
    landed["users"].quarantined = write_quarantine(ctx, "directory", None, quarantine)
    return landed


@dg.multi_asset(
    specs=[
        dg.AssetSpec("users", description="Every user of the account, with status, role and main department.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
        dg.AssetSpec("user_departments", description="Which departments each user belongs to.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
        dg.AssetSpec("roles", description="The account's roles and how many members each has.",
                     group_name="directory", kinds={"api", "pandas", "parquet"}),
    ],
    check_specs=[
        dg.AssetCheckSpec("userid_unique", asset="users", description="One row per userid."),
        dg.AssetCheckSpec("one_main_department", asset="user_departments",
                          description="No user has more than one main department."),
    ],
    pool=API_POOL,
    retry_policy=API_RETRY,
)
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
    ])
    yield result("user_departments", landed["user_departments"], None, [
        check("user_departments", "one_main_department", bool((mains <= 1).all()),
              "at most one main department per user", warn=True),
    ])
    yield result("roles", landed["roles"], None)
