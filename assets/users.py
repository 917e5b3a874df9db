"""The directory: users, their departments, and roles — a snapshot of current state."""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._page_ledger import Key, as_received, ledger as page_ledger, numbered, record_keys
from assets._reach import can_read_as_admin, note_narrowed
from assets._refusals import AssetRefused, refusal_reason, shape_check_spec
from assets._dagster import (
    SINGLE_RUN,
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
    PageTally,
    SyncContext,
    Tally,
    archive_page,
    archive_record,
    combine_counted,
    land,
    tally_of,
)
from assets.partitions import MULTI_ACCOUNT, beside_daily_partitions
from assets.normalize._common import field, record_json, text
from assets.normalize.users import normalize_corp_users, normalize_role_users, normalize_roles, normalize_user_info
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.raw_archive import RawWriter
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import AuthModeUnsupported, ResponseShapeError
from resources.tencent.pagination import Page
from assets.tags import endpoint_metadata, table_tags
from resources.tencent.scopes import E_CORP_ROLES, E_CORP_USERS, E_USER_INFO, VIEW_ALL_USERS, VIEW_USER_INFO
from resources.tencent.shapes import ROLE_LIST, ROLE_USERS, SHAPE_SOURCES, roles_shape, shape_note

ASSET = "directory"
# No user-level endpoint lists department membership or the role list.
ACCOUNT_ONLY_TAGS = table_tags("pull", warehouse="required", scope=VIEW_ALL_USERS, archive=ASSET)
SPECS = [
    dg.AssetSpec("users", skippable=True, description="Every user of the account, with status, role and main department.",
                 group_name="directory", kinds={"api", "pandas", "parquet"},
                 tags=table_tags("pull", warehouse="required", scope=VIEW_ALL_USERS, user_scope=VIEW_USER_INFO,
                                 archive=ASSET),
                 metadata=endpoint_metadata((E_CORP_USERS, E_CORP_ROLES), user=(E_USER_INFO,))),
    dg.AssetSpec("user_departments", skippable=True, description="Which departments each user belongs to.",
                 group_name="directory", kinds={"api", "pandas", "parquet"}, tags=ACCOUNT_ONLY_TAGS,
                 metadata=endpoint_metadata((E_CORP_USERS, E_CORP_ROLES), admin=(E_CORP_USERS,))),
    dg.AssetSpec("roles", skippable=True, description="The account's roles and how many members each has.",
                 group_name="directory", kinds={"api", "pandas", "parquet"}, tags=ACCOUNT_ONLY_TAGS,
                 metadata=endpoint_metadata((E_CORP_USERS, E_CORP_ROLES), admin=(E_CORP_ROLES,))),
]
TABLES = tuple(spec.key.to_user_string() for spec in SPECS)


def extract_directory(ctx: SyncContext, *, include_roles: bool = True) -> dict[str, Landed]:
    """Replace the three directory tables.

    Account-level apps list the whole account; a user-level app only knows its authorizing
    users (keyed by open_id) and has no access to departments or roles, which stay empty. An
    account-level OAuth app refused the account-wide lists (the API reference) lands its admin's
    own record, the way a user-level app does, and names the tables it could not read in
    ``ctx.refused_tables``.
    """
    pages: list[PageData] = []
    sources = {"users": E_CORP_USERS, "user_departments": E_CORP_USERS, "roles": E_CORP_ROLES}
    with ctx.raw.writer(ASSET, None) as raw:
        for client in ctx.clients:
            if client.app_type not in ("account", "aksk"):
                sources["users"] = E_USER_INFO
                pages.extend(_own_info(client, raw))
                continue
            try:
                pages.extend(archive_page(raw, page) for page in client.iter_corp_users())
            except AuthModeUnsupported as exc:
                if not can_read_as_admin(client) or any(p.endpoint == E_CORP_USERS for p in pages):
                    raise
                note_narrowed(client, exc, "user record", E_USER_INFO)
                sources["users"] = E_USER_INFO
                ctx.refused_tables["user_departments"] = refusal_reason(exc)
                pages.extend(_own_info(client, raw))
            if include_roles:
                try:
                    pages.extend(_archive_roles_page(raw, page) for page in client.iter_roles())
                except AuthModeUnsupported as exc:
                    if not can_read_as_admin(client):
                        raise
                    client.stats.skip(exc.endpoint or E_CORP_ROLES, "roles", exc.code, refusal_reason(exc))
                    ctx.refused_tables["roles"] = refusal_reason(exc)
    # A table whose pages came in an unknown shape keeps its last good state: replacing it
    # with what little was read would pass an unread answer off as the directory.
    unread = {ep for client in ctx.clients for ep in (exc.endpoint for exc in client.shape_errors)}
    tables = [t for t in TABLES if sources[t] not in unread and t not in ctx.refused_tables]
    landed = land(ctx, derive_directory(pages, ctx.tz), None, ASSET, tables=tables)
    shapes = roles_shapes_seen(pages)
    for shape in shapes:
        ctx.stats().add(shape_note(shape))
    if "roles" in landed and shapes:
        landed["roles"].notes["roles_shape"] = ", ".join(SHAPE_SOURCES[s] for s in shapes)
    return landed


def _own_info(client: TencentMeetingClient, raw: RawWriter) -> list[PageData]:
    """The caller's own record from ``/v1/users/info/basic``; none when it came in another shape."""
    assert client.open_id is not None
    try:
        info = client.get_user_info()
    except ResponseShapeError as exc:
        client.note_shape_error(exc)
        return []
    return [archive_record(raw, E_USER_INFO, {}, info, {"open_id": client.open_id})]


def _archive_roles_page(raw: RawWriter, page: Page) -> PageData:
    # The shape travels with the archived page, so a rebuild reads it the way the pull did.
    return archive_page(raw, page, {"roles_shape": roles_shape(page.body) or ROLE_LIST})


def roles_shapes_seen(pages: Iterable[PageData]) -> list[str]:
    return sorted({str(p.context.get("roles_shape", ROLE_LIST)) for p in pages if p.endpoint == E_CORP_ROLES})


def derive_directory(pages: Iterable[PageData], tz: str) -> Derived:
    """Account user and role pages, or each authorizing user's own info -> the three directory tables."""
    pages = list(pages)
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    quarantine: list[pd.DataFrame] = []
    received = {"users": 0, "roles": 0}
    repeats = {"users": 0, "roles": 0}
    # Pages are pooled per endpoint and normalized once: a large account has hundreds of pages.
    user_records: list[Any] = []
    role_records: dict[str, list[Any]] = {ROLE_LIST: [], ROLE_USERS: []}
    for page in pages:
        if page.endpoint == E_CORP_USERS:
            user_records.extend(page.records)
        elif page.endpoint == E_CORP_ROLES:
            role_records[str(page.context.get("roles_shape", ROLE_LIST))].extend(page.records)
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
    for shape, normalize in ((ROLE_LIST, normalize_roles), (ROLE_USERS, normalize_role_users)):
        if role_records[shape]:
            roles = normalize(role_records[shape])
            frames["roles"].append(roles.frame)
            quarantine.append(roles.quarantine)
            received["roles"] += len(role_records[shape])
            repeats["roles"] += roles.deduplicated
    combined: dict[str, pd.DataFrame] = {}
    tallies: dict[str, Tally] = {}
    for table in TABLES:
        combined[table], across = combine_counted(table, frames[table])
        if table in received:
            tallies[table] = tally_of(table, received[table], combined[table], quarantine, repeats[table] + across)
    ledgers = directory_ledgers(pages, combined, quarantine)
    tallies["user_departments"] = sum((page.tally for page in ledgers["user_departments"]), Tally())
    return Derived(combined, quarantine, tallies, ledgers)


def directory_ledgers(
    pages: Sequence[PageData], frames: dict[str, pd.DataFrame], quarantine: list[pd.DataFrame]
) -> dict[str, list[PageTally]]:
    """Each directory page's tally per table; a department is received with a user that was not set aside."""
    user_pages, user_numbers = numbered(pages, lambda p: p.endpoint in (E_CORP_USERS, E_USER_INFO))
    role_pages, role_numbers = numbered(pages, lambda p: p.endpoint == E_CORP_ROLES)
    corp_pages, corp_numbers = numbered(pages, lambda p: p.endpoint == E_CORP_USERS)
    rejected = {text for q in quarantine if len(q) for text in q.loc[q["table_name"] == "users", "record_json"]}
    departments = [
        [(str(user["userid"]), item) for user in p.records if _kept(user, rejected)
         for item in user.get("departments") or []]
        for p in corp_pages
    ]
    department_ids = _parsed_keys([[item for _, item in page] for page in departments], "department_id")
    department_keys = [[None if key is None else (owner, *key) for (owner, _), key in zip(page, keys, strict=True)]
                       for page, keys in zip(departments, department_ids, strict=True)]
    return {
        "users": page_ledger("users", user_pages, [p.records for p in user_pages], _user_keys(user_pages),
                             as_received, frames["users"], quarantine, user_numbers),
        "roles": page_ledger("roles", role_pages, [p.records for p in role_pages],
                             _parsed_keys([p.records for p in role_pages], "role_code"), as_received,
                             frames["roles"], quarantine, role_numbers),
        "user_departments": page_ledger(
            "user_departments", corp_pages, departments, department_keys,
            lambda _page, item: {"userid": item[0], "department": item[1]}, frames["user_departments"], quarantine,
            corp_numbers),
    }


def _parsed_keys(items: Sequence[Sequence[Any]], name: str) -> list[list[Key | None]]:
    """The one-field key of every item, parsed as text the way the normalizers parse it."""
    flat = [item if isinstance(item, dict) else {} for page in items for item in page]
    keys = iter(record_keys([text(field(flat, name)).values]))
    return [[next(keys) for _ in page] for page in items]


def _user_keys(pages: Sequence[PageData]) -> list[list[Key | None]]:
    # An own-info record lands under the open_id it was fetched for, not under a field of its own.
    parsed = _parsed_keys([p.records for p in pages], "userid")
    return [[(p.context["open_id"],) for _ in p.records] if p.endpoint == E_USER_INFO else keys
            for p, keys in zip(pages, parsed, strict=True)]


def _kept(user: Any, rejected: set[str]) -> bool:
    """Whether a corp-users record reached user_departments: an object the users table did not set aside."""
    return isinstance(user, dict) and not (rejected and record_json(user) in rejected)


@dg.multi_asset(
    can_subset=True,
    specs=SPECS,
    check_specs=[
        dg.AssetCheckSpec("userid_unique", asset="users", description="One row per userid."),
        dg.AssetCheckSpec("one_main_department", asset="user_departments",
                          description="No user has more than one main department."),
        *(shape_check_spec(table) for table in TABLES),
        conservation_spec("users"),
        conservation_spec("user_departments"),
        conservation_spec("roles"),
    ],
    pool=API_POOL,
    retry_policy=API_RETRY,
    partitions_def=beside_daily_partitions,
    backfill_policy=SINGLE_RUN if MULTI_ACCOUNT else None,
)
@scoped
def directory(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the account's users, departments and roles (current state)."""
    with sync_context(context, tencent, storage, ASSET) as ctx:
        landed = extract_directory(ctx)
    stats = ctx.stats()
    if "users" in landed:
        users = ctx.lake.read("users")
        yield result("users", landed["users"], stats, [
            check("users", "userid_unique", not users["userid"].duplicated().any(), "userid is unique"),
            conservation_check("users", landed["users"].tally, landed["users"].unbalanced_pages),
        ])
        stats = None
    if "user_departments" in landed:
        departments = ctx.lake.read("user_departments")
        mains = departments[departments["is_main"].fillna(False)].groupby("userid").size()
        yield result("user_departments", landed["user_departments"], stats, [
            check("user_departments", "one_main_department", bool((mains <= 1).all()),
                  "at most one main department per user", warn=True),
            conservation_check("user_departments", landed["user_departments"].tally,
                               landed["user_departments"].unbalanced_pages),
        ])
        stats = None
    if "roles" in landed:
        yield result("roles", landed["roles"], stats, [conservation_check("roles", landed["roles"].tally,
                                                                           landed["roles"].unbalanced_pages)])
    if ctx.refused_tables:
        raise AssetRefused("; ".join(sorted(set(ctx.refused_tables.values()))), int(ctx.stats().totals()["calls"]),
                           tables=dict(ctx.refused_tables))
