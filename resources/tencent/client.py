"""``TencentMeetingClient``: typed, streaming endpoint methods over one guarded transport."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from resources.settings import ConfigError, Settings
from resources.tencent import auth_modes
from resources.tencent import scopes as sc
from resources.tencent.errors import (
    REAUTHORIZE_HINT,
    AuthError,
    AuthModeUnsupported,
    PermissionDenied,
    ReauthorizeRequired,
    ResourceGone,
    ResponseShapeError,
    TencentError,
)
from resources.tencent.oauth import OAuthAuth, TokenManager
from resources.tencent.pagination import (
    Deduper,
    KeyFn,
    Page,
    object_of,
    records_of,
    walk_cursory,
    walk_pages,
    walk_pos,
)
from resources.tencent.quota import QuotaBudget, quota_limiter
from resources.tencent.shapes import ROLE_LIST, USER_INFO_FIELDS, roles_shape
from resources.tencent.signer import AkSkAuth
from resources.tencent.stats import CallStats
from resources.tencent.token_store import TokenStore
from resources.tencent.transport import ApiResponse, Transport
from resources.tencent.windows import (
    HISTORY_MAX_DAYS,
    PARTICIPANTS_MAX_DAYS,
    RECORDS_MAX_DAYS,
    bisect,
    split_days,
    split_range,
    to_epoch,
)

log = logging.getLogger(__name__)

PARTICIPANTS_CAP = 50_000
CORP_MEETINGS_CAP = 100_000
PAGE_SIZE = {
    sc.E_CORP_USERS: 100,
    sc.E_CORP_ROLES: 20,
    sc.E_CORP_MEETINGS: 20,
    sc.E_PARTICIPANTS: 100,
    sc.E_CORP_RECORDS: 20,
    sc.E_RECORDS: 20,
    sc.E_RECORD_EVENTS: 50,
    sc.E_VIEW_DETAILS: 50,
    sc.E_USER_ENDED: 20,
}


def _participant_key(r: dict[str, Any]) -> tuple[str, str]:
    person = r.get("userid") or r.get("uuid") or r.get("ms_open_id") or ""
    return (str(person), str(r.get("join_time", "")))


class TencentMeetingClient:
    """One principal's view of the API. AK/SK and account-level apps: one client; user-level: one per open_id."""

    def __init__(
        self,
        settings: Settings,
        open_id: str | None = None,
        *,
        limiter: QuotaBudget | None = None,
        stats: CallStats | None = None,
        http: httpx.Client | None = None,
        token_manager: TokenManager | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        settings.require_for_client()
        self.settings = settings
        self.stats = stats or CallStats()
        # Pages that came without their documented list: the asset quarantines them.
        self.shape_errors: list[ResponseShapeError] = []
        # Endpoints the platform refused to this auth mode, so a caller can stop asking for them.
        self.mode_refusals: dict[str, AuthModeUnsupported] = {}
        self.limiter = limiter or quota_limiter(settings, tz=_platform_tz())
        self.mode = settings.auth_mode
        self.app_type: sc.AppType = "aksk" if self.mode == "aksk" else settings.app_type
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        if self.mode == "aksk":
            assert settings.secret_key is not None
            self.open_id = None
            quota_key = f"app:{settings.app_id}:{settings.sdk_id or settings.secret_id}"
            self.transport = Transport(settings, limiter=self.limiter, stats=self.stats, quota_key=quota_key,
                                       http=http, **extra)
            self.auth: httpx.Auth = AkSkAuth(settings.app_id, settings.secret_id, settings.secret_key, settings.sdk_id)
            self.operator = {"operator_id": settings.operator_id, "operator_id_type": 1}
            self.tokens: TokenManager | None = None
        else:
            quota_key = f"app:{settings.sdk_id}"
            self.transport = Transport(settings, limiter=self.limiter, stats=self.stats, quota_key=quota_key,
                                       http=http, **extra)
            self.tokens = token_manager or token_manager_for(settings, self.transport)
            if open_id is None:
                principals = self.tokens.principals()
                if len(principals) != 1:
                    raise ReauthorizeRequired(
                        f"{len(principals)} authorized users are stored; pass open_id "
                        f"(see TencentMeetingClient.principals) or {REAUTHORIZE_HINT}"
                    )
                open_id = principals[0]
            self.open_id = open_id
            if settings.app_type == "user":
                # Third-party quota is per authorizing user (docs/platform.md, "Limits").
                self.transport.quota_key = f"user:{settings.sdk_id}:{open_id}"
            self.auth = OAuthAuth(self.tokens, open_id)
            self.operator = {"operator_id": open_id, "operator_id_type": 2}

    # -- construction helpers ----------------------------------------------------------------
    @staticmethod
    def principals(settings: Settings) -> list[str]:
        """The open_ids with a stored token (empty for AK/SK, which needs none)."""
        if settings.auth_mode == "aksk":
            return []
        return TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key).principals()

    @classmethod
    def for_all_principals(cls, settings: Settings, **kwargs: Any) -> list[TencentMeetingClient]:
        """One client per stored principal (or the single AK/SK client) for fan-out."""
        if settings.auth_mode == "aksk":
            return [cls(settings, **kwargs)]
        return [cls(settings, open_id, **kwargs) for open_id in cls.principals(settings)]

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> TencentMeetingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call ------------------------------------------------------------------------------
    def get(self, endpoint: str, path: str, params: dict[str, Any]) -> ApiResponse:
        """GET one page; refreshes once on 190303 (OAuth), otherwise raises the classified error."""
        try:
            return self.transport.get(
                endpoint,
                path,
                params,
                self.auth,
                on_auth_error=self._reauthenticate,
                missing_scope=sc.scope_for_endpoint(endpoint, self.app_type),
            )
        except AuthError as exc:
            if self.tokens is None or isinstance(exc, ReauthorizeRequired) or exc.code != 190303:
                raise
            raise ReauthorizeRequired(
                f"the access token was refused again right after a refresh; {REAUTHORIZE_HINT}",
                endpoint=exc.endpoint, code=exc.code, http_status=exc.http_status,
            ) from None
        except PermissionDenied as exc:
            if isinstance(exc, AuthModeUnsupported):
                self.mode_refusals[endpoint] = exc
                raise
            if not auth_modes.is_mode_refusal(endpoint, self.mode, exc.platform_message):
                raise
            refusal = mode_refusal(exc, endpoint, self.mode)
            self.mode_refusals[endpoint] = refusal
            raise refusal from None

    def _reauthenticate(self, exc: TencentError, stale: str) -> bool:
        if self.tokens is None or self.open_id is None:
            raise AuthError(
                "AK/SK credentials refused: check TMEET_APP_ID, TMEET_SECRET_ID, TMEET_SECRET_KEY and TMEET_SDK_ID "
                "(omit TMEET_SDK_ID if the app has none)",
                endpoint=exc.endpoint, code=exc.code, http_status=exc.http_status,
            ) from None
        self.tokens.refresh(self.open_id, stale=stale)
        return True

    def _call(self, endpoint: str, path: str) -> Callable[[dict[str, Any]], ApiResponse]:
        def fetch(params: dict[str, Any]) -> ApiResponse:
            resp = self.get(endpoint, path, params)
            return resp

        return fetch

    def _counted(self, endpoint: str, pages: Iterator[Page]) -> Iterator[Page]:
        try:
            for page in pages:
                self.stats.add(endpoint, pages=1, rows=len(page.records))
                yield page
        except ResponseShapeError as exc:
            # The walk cannot go on without the page's cursor; the rest of the run can.
            self.note_shape_error(exc, endpoint)

    def note_shape_error(self, exc: ResponseShapeError, endpoint: str = "", resource: str = "page") -> None:
        """Keep a body that came in an undocumented shape for the asset to quarantine, and log it."""
        endpoint = endpoint or exc.endpoint or "?"
        self.shape_errors.append(exc)
        self.stats.skip(endpoint, resource, None, f"response shape: {exc.detail}")
        log.warning("quarantined a %s of %s: %s", resource, endpoint, exc.detail)

    def _skipping_gone(self, endpoint: str, resource: str, pages: Iterator[Page]) -> Iterator[Page]:
        try:
            yield from pages
        except ResourceGone as exc:
            self.stats.skip(endpoint, resource, exc.code, exc.detail)
            log.info("skipped %s on %s: %s", resource, endpoint, exc.detail)

    def _paged(
        self, endpoint: str, path: str, params: dict[str, Any], records_key: str, dedup: Deduper
    ) -> Iterator[Page]:
        return walk_pages(self._call(endpoint, path), params, PAGE_SIZE[endpoint], records_key, dedup)

    # -- account-level directory --------------------------------------------------------------
    def iter_corp_users(self) -> Iterator[Page]:
        ep = sc.E_CORP_USERS
        dedup = Deduper(lambda r: r.get("userid"))
        pages = walk_pos(self._call(ep, "/v1/corp/users"), dict(self.operator), "page_size",
                         PAGE_SIZE[ep], "users", dedup, first_pos="")
        return self._counted(ep, pages)

    def iter_roles(self) -> Iterator[Page]:
        """Either documented shape (see ``shapes.roles_shape``), told apart on the first page.

        The role list pages by ``page``; the users of roles page by ``pos``. Anything else is a
        shape error, never an empty role table.
        """
        ep = sc.E_CORP_ROLES
        fetch = self._call(ep, "/v1/corp/user-roles")
        size = PAGE_SIZE[ep]
        base = dict(self.operator)

        def walk() -> Iterator[Page]:
            first = fetch({**base, "page": 1, "page_size": size})
            shape = roles_shape(first.body)
            if shape == ROLE_LIST:
                yield from walk_pages(fetch, base, size, "user_role_list", Deduper(lambda r: r.get("role_code")),
                                      first=first)
                return
            if shape is None:
                records_of(first, "user_role_list", "users")  # raises: neither documented list is there
                raise ResponseShapeError("a roles response in neither documented shape", endpoint=ep,
                                         http_status=first.status, raw=first.raw)
            dedup = Deduper(lambda r: r.get("userid"))
            yield Page(first.endpoint, dict(first.params), dedup.fresh(records_of(first, "users")),
                       first.body, first.status, first.fetched_at, first.raw)
            if first.body.get("has_remaining") in (True, 1, "1", "true"):
                yield from walk_pos(fetch, base, "page_size", size, "users", dedup,
                                    first_pos=first.body.get("next_pos"))

        return self._counted(ep, walk())

    # -- meetings ------------------------------------------------------------------------------
    def iter_corp_meetings(self, state: int, start: datetime | int, end: datetime | int) -> Iterator[Page]:
        """``meeting_state`` 1 ended, 2 live, 3 upcoming; splits the window when a query would exceed 100k rows."""
        if state not in (1, 2, 3):
            raise ValueError("meeting_state must be 1 (ended), 2 (live) or 3 (upcoming)")
        ep = sc.E_CORP_MEETINGS
        if state == 1:
            key: KeyFn = lambda r: (r.get("meeting_id"), r.get("sub_meeting_id") or "", r.get("start_time"))
        else:
            key = lambda r: (r.get("meeting_id"), r.get("sub_meeting_id") or "")
        dedup = Deduper(key)
        base = {**self.operator, "meeting_state": state}
        return self._counted(ep, self._capped_windows(
            ep, "/v1/corp/meetings", base, "meeting_info_list", dedup, to_epoch(start), to_epoch(end),
            CORP_MEETINGS_CAP, resource=f"meeting_state={state}"))

    def _capped_windows(
        self, ep: str, path: str, base: dict[str, Any], records_key: str, dedup: Deduper,
        start: int, end: int, cap: int, resource: str,
    ) -> Iterator[Page]:
        """Page through ``[start, end]``; halve the window while the first page says the cap would bite."""
        fetch = self._call(ep, path)
        size = PAGE_SIZE[ep]
        pending = [(start, end)]
        while pending:
            lo, hi = pending.pop(0)
            params = {**base, "start_time": lo, "end_time": hi}
            first = fetch({**params, "page": 1, "page_size": size})
            total = int(first.body.get("total_count") or 0)
            # The list stops at the cap and may report the capped count, so reaching it means "split".
            if total >= cap and hi > lo:
                pending[:0] = bisect(lo, hi)
                continue
            if total >= cap:
                self.stats.skip(ep, resource, None, f"{total} rows in one second exceed the {cap}-row cap")
            yield from walk_pages(fetch, params, size, records_key, dedup, first=first)

    def iter_participants(
        self,
        meeting_id: str,
        sub_meeting_id: str = "",
        start: datetime | int | None = None,
        end: datetime | int | None = None,
    ) -> Iterator[Page]:
        """Every join session; windows of ≤31 days, split further when the 50,000-row cap would bite."""
        ep = sc.E_PARTICIPANTS
        path = f"/v1/meetings/{_segment(meeting_id)}/participants"
        base = dict(self.operator)
        if sub_meeting_id:
            base["sub_meeting_id"] = sub_meeting_id
        dedup = Deduper(_participant_key)
        resource = f"meeting {meeting_id}/{sub_meeting_id}" if sub_meeting_id else f"meeting {meeting_id}"

        def walk() -> Iterator[Page]:
            if start is None or end is None:
                yield from self._participants_window(ep, path, base, dedup, None, resource)
                return
            for lo, hi in split_days(start, end, PARTICIPANTS_MAX_DAYS):
                yield from self._participants_window(ep, path, base, dedup, (lo, hi), resource)

        return self._counted(ep, self._skipping_gone(ep, resource, walk()))

    def _participants_window(
        self, ep: str, path: str, base: dict[str, Any], dedup: Deduper, window: tuple[int, int] | None, resource: str
    ) -> Iterator[Page]:
        fetch = self._call(ep, path)
        size = PAGE_SIZE[ep]
        params = dict(base)
        if window is not None:
            params.update(start_time=window[0], end_time=window[1])
        first = fetch({**params, "pos": 0, "size": size})
        total = int(first.body.get("total_count") or 0)
        if total > PARTICIPANTS_CAP:
            if window is not None and window[1] > window[0]:
                for half in bisect(*window):
                    yield from self._participants_window(ep, path, base, dedup, half, resource)
                return
            self.stats.skip(ep, resource, None,
                            f"{total} sessions exceed the platform's {PARTICIPANTS_CAP}-row cap and the "
                            "window cannot be split further; later rows are missing")
        page = Page(first.endpoint, dict(first.params), dedup.fresh(records_of(first, "participants")),
                    first.body, first.status, first.fetched_at, first.raw)
        yield page
        if not first.body.get("has_remaining"):
            return
        yield from walk_pos(fetch, params, "size", size, "participants", dedup,
                            first_pos=first.body.get("next_pos"))

    def iter_user_meetings(self) -> Iterator[Page]:
        """E3: the user's upcoming and live meetings (pos/cursory)."""
        ep = sc.E_USER_MEETINGS
        user = self._require_user()
        dedup = Deduper(lambda r: r.get("meeting_id"))
        params = {"userid": user, "instanceid": 1}
        return self._counted(ep, walk_cursory(self._call(ep, "/v1/meetings"), params, "meeting_info_list", dedup))

    def iter_user_ended_meetings(self, start: datetime | int, end: datetime | int) -> Iterator[Page]:
        ep = sc.E_USER_ENDED
        user = self._require_user()
        dedup = Deduper(lambda r: (r.get("meeting_id"), r.get("sub_meeting_id") or "", r.get("start_time")))

        def walk() -> Iterator[Page]:
            for lo, hi in split_days(start, end, HISTORY_MAX_DAYS):
                yield from self._paged(ep, f"/v1/history/meetings/{_segment(user)}",
                                       {"start_time": lo, "end_time": hi}, "meeting_info_list", dedup)

        return self._counted(ep, walk())

    def get_user_info(self) -> dict[str, Any]:
        """The caller's own basic info; a body that is not that object raises :class:`ResponseShapeError`."""
        ep = sc.E_USER_INFO
        self._require_user()
        resp = self.get(ep, "/v1/users/info/basic", dict(self.operator))
        info = object_of(resp, USER_INFO_FIELDS)
        self.stats.add(ep, pages=1, rows=1)
        return info

    # -- recordings ----------------------------------------------------------------------------
    def iter_corp_records(self, start: datetime | int, end: datetime | int) -> Iterator[Page]:
        return self._records(sc.E_CORP_RECORDS, "/v1/corp/records", start, end)

    def iter_records(self, start: datetime | int, end: datetime | int) -> Iterator[Page]:
        return self._records(sc.E_RECORDS, "/v1/records", start, end)

    def _records(self, ep: str, path: str, start: datetime | int, end: datetime | int) -> Iterator[Page]:
        dedup = Deduper(lambda r: r.get("meeting_record_id"))

        def walk() -> Iterator[Page]:
            for lo, hi in split_days(start, end, RECORDS_MAX_DAYS):
                yield from self._paged(ep, path, {**self.operator, "start_time": lo, "end_time": hi},
                                       "record_meetings", dedup)

        return self._counted(ep, walk())

    def iter_record_metrics(
        self, meeting_record_id: str, start: datetime | int, end: datetime | int
    ) -> Iterator[Page]:
        ep = sc.E_RECORD_METRICS
        dedup = Deduper(lambda r: r.get("date"))
        fetch = self._call(ep, "/v1/metrics/records")

        def walk() -> Iterator[Page]:
            for lo, hi in split_days(start, end, RECORDS_MAX_DAYS):
                resp = fetch({**self.operator, "meeting_record_id": meeting_record_id, "start_time": lo,
                              "end_time": hi})
                yield Page(resp.endpoint, dict(resp.params), dedup.fresh(records_of(resp, "summaries")),
                           resp.body, resp.status, resp.fetched_at, resp.raw)

        return self._counted(ep, self._skipping_gone(ep, f"recording {meeting_record_id}", walk()))

    def iter_record_events(
        self, meeting_record_id: str, event_type: int, start: datetime | int, end: datetime | int
    ) -> Iterator[Page]:
        if event_type not in (1, 2):
            raise ValueError("event_type must be 1 (download) or 2 (view)")
        ep = sc.E_RECORD_EVENTS
        dedup = Deduper(lambda r: (r.get("operate_time"), r.get("userid"), r.get("event_type", event_type)))

        def walk() -> Iterator[Page]:
            for lo, hi in split_days(start, end, RECORDS_MAX_DAYS):
                params = {**self.operator, "meeting_record_id": meeting_record_id, "event_type": event_type,
                          "start_time": lo, "end_time": hi}
                yield from self._paged(ep, "/v1/records/events", params, "events", dedup)

        return self._counted(ep, self._skipping_gone(ep, f"recording {meeting_record_id}", walk()))

    def iter_view_details(
        self, record_file_id: str, start: datetime | int, end: datetime | int
    ) -> Iterator[Page]:
        """Per-play log; this endpoint takes its window in milliseconds."""
        ep = sc.E_VIEW_DETAILS
        dedup = Deduper(lambda r: (r.get("userid"), r.get("view_start_time")))

        def walk() -> Iterator[Page]:
            span_ms = RECORDS_MAX_DAYS * 86400 * 1000
            for lo, hi in split_range(to_epoch(start) * 1000, to_epoch(end) * 1000 + 999, span_ms):
                params = {**self.operator, "record_file_id": record_file_id, "start_time": lo, "end_time": hi}
                yield from self._paged(ep, "/v1/records/view-details", params, "view_details", dedup)

        return self._counted(ep, self._skipping_gone(ep, f"record file {record_file_id}", walk()))

    def _require_user(self) -> str:
        if self.open_id is None:
            raise ConfigError("this endpoint needs an OAuth user (TMEET_AUTH_MODE=oauth and a stored login)")
        return self.open_id


def mode_refusal(exc: PermissionDenied, endpoint: str, mode: str) -> AuthModeUnsupported:
    """A permission refusal re-read as "this auth mode cannot reach this endpoint", with the fix."""
    page = auth_modes.reference_page(endpoint)
    source = f" (API reference {page})" if page else ""
    kind = "OAuth" if mode == "oauth" else "AK/SK"
    fix = auth_modes.fix_for(mode)
    return AuthModeUnsupported(
        f"{endpoint} does not take {kind}{source}; {fix}",
        auth_mode=mode, fix=fix, platform_message=exc.platform_message, endpoint=exc.endpoint or endpoint, code=exc.code,
        http_status=exc.http_status, trace_id=exc.trace_id,
    )


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _platform_tz() -> Any:
    from resources.tencent.quota import PLATFORM_TZ

    return PLATFORM_TZ


def token_manager_for(settings: Settings, transport: Transport) -> TokenManager:
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
    return TokenManager(settings, store, transport.post_oauth)
