"""`tmeet-etl auth login|status|logout` and `tmeet-etl doctor`."""

from __future__ import annotations

import argparse
import email.utils
import http.server
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pipelines.env_file import describe_env_file
from resources.settings import ConfigError, Settings, is_loopback_host
from resources.tencent import scopes as sc
from resources.tencent.errors import TencentError
from resources.tencent.oauth import (
    LoginSession,
    OAuthFlowError,
    TokenManager,
    authorize_page_refusal,
    refusal_fix,
)
from resources.tencent.stats import CallStats
from resources.tencent.token_store import StoredToken, TokenStore, TokenStoreError
from resources.tencent.transport import Transport

CALLBACK_PAGE = b"<!doctype html><title>tmeet-etl</title><p>Authorization received. You can close this tab.</p>"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    auth = subparsers.add_parser("auth", help="log in to the Tencent Meeting OAuth app and manage stored tokens")
    sub = auth.add_subparsers(dest="auth_command", metavar="ACTION", required=True)
    login = sub.add_parser("login", help="authorize in the browser and store the tokens")
    login.add_argument("--no-browser", action="store_true", help="only print the URL")
    login.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the redirect")
    login.set_defaults(func=cmd_login)
    _account_option(login)
    status = sub.add_parser("status", help="stored principals, scopes and expiries (never tokens)")
    status.set_defaults(func=cmd_status)
    _account_option(status)
    logout = sub.add_parser("logout", help="forget local tokens")
    logout.add_argument("--open-id", default=None, help="forget only this user (user-level apps)")
    logout.set_defaults(func=cmd_logout)
    _account_option(logout)
    doctor = subparsers.add_parser("doctor", help="check config, connectivity, clock skew, scopes and the asset plan")
    doctor.set_defaults(func=cmd_doctor)


def _account_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="ID", help="with TMEET_ACCOUNTS_FILE: act for this account")


def _settings(args: argparse.Namespace) -> Settings:
    """The configured account's settings, or with ``--account``, that account's from the accounts file."""
    from resources.accounts import ACCOUNTS_FILE_ENV, load_accounts

    account_id = getattr(args, "account", None)
    if not account_id:
        return Settings.from_env()
    accounts = load_accounts()
    if accounts is None:
        raise ConfigError(f"--account needs an accounts file: set {ACCOUNTS_FILE_ENV} to its path")
    (account,) = accounts.select([account_id])
    return account.resolved()


def _oauth_parts(settings: Settings) -> tuple[Transport, TokenManager]:
    settings.require("sdk_id", "secret")
    transport = Transport(settings, limiter=None, stats=CallStats(), quota_key=f"app:{settings.sdk_id}")
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
    return transport, TokenManager(settings, store, transport.post_oauth)


def login(
    settings: Settings,
    *,
    open_browser: Callable[[str], Any] | None = None,
    read_line: Callable[[str], str] = input,
    out: Callable[[str], None] = print,
    timeout: float = 300.0,
) -> StoredToken:
    """Run one login: print the URL, catch the redirect (loopback) or read the pasted URL, exchange once."""
    if settings.auth_mode != "oauth":
        raise ConfigError("auth login needs TMEET_AUTH_MODE=oauth (AK/SK apps need no login)")
    settings.require("sdk_id", "secret", "corp_id", "redirect_uri")
    transport, manager = _oauth_parts(settings)
    try:
        session = LoginSession(settings, manager)
        _fail_if_page_refuses(session.url, settings)
        redirect = urlsplit(settings.redirect_uri)
        out("Open this URL to authorize the app:")
        out(session.url)
        if redirect.scheme == "http" and redirect.hostname and is_loopback_host(redirect.hostname):
            with CallbackServer(redirect.hostname, redirect.port or 80, redirect.path or "/") as server:
                if open_browser is not None:
                    open_browser(session.url)
                try:
                    callback = server.wait(timeout)
                except OAuthFlowError:
                    _fail_if_page_refuses(session.url, settings)
                    raise
            return session.complete(settings.redirect_uri.split("?")[0] + "?" + callback)
        if open_browser is not None:
            open_browser(session.url)
        return session.complete(read_line("Paste the full URL you were redirected to: "))
    finally:
        transport.close()


def _fail_if_page_refuses(url: str, settings: Settings) -> None:
    refusal = authorize_page_refusal(url, timeout=settings.connect_timeout)
    if refusal is not None:
        raise OAuthFlowError(f"the authorization page refused this login: {refusal}; {refusal_fix(refusal, settings)}")


class CallbackServer:
    """A one-shot loopback listener for the OAuth redirect; it never redirects anywhere itself."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        self._query: str | None = None
        self._event = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                parts = urlsplit(self.path)
                if parts.path != outer.path or outer._event.is_set():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer._query = parts.query
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(CALLBACK_PAGE)))
                self.end_headers()
                self.wfile.write(CALLBACK_PAGE)
                outer._event.set()

            def log_message(self, format: str, *args: Any) -> None:
                # The request line carries the auth_code; never print it.
                return

        self._server = http.server.HTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="oauth-callback")

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        if not self._event.wait(timeout):
            raise OAuthFlowError(f"no redirect arrived within {timeout:.0f}s; run `tmeet-etl auth login` again")
        return self._query or ""


def cmd_login(args: argparse.Namespace) -> int:
    settings = _settings(args)
    opener = None if args.no_browser else _browser_opener()
    try:
        token = login(settings, open_browser=opener, timeout=args.timeout)
    except (ConfigError, TencentError) as exc:
        print(f"login failed: {exc}", file=sys.stderr)
        return 1
    print(f"logged in: open_id {token.open_id}, scopes {', '.join(token.scopes) or '(none)'}")
    return 0


def _browser_opener() -> Callable[[str], Any] | None:
    try:
        webbrowser.get()
    except webbrowser.Error:
        return None
    return webbrowser.open


def status_lines(settings: Settings) -> list[str]:
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
    tokens = store.read_all()
    if not tokens:
        return ["no stored login; run `tmeet-etl auth login`"]
    lines = []
    for open_id, tok in sorted(tokens.items()):
        if tok.refused:
            lines.append(f"open_id {open_id}: {tok.refused_message()}")
            continue
        access = datetime.fromtimestamp(tok.expires, UTC).isoformat()
        refresh = datetime.fromtimestamp(tok.refresh_expires, UTC).isoformat() if tok.refresh_expires else "unknown"
        lines.append(
            f"open_id {open_id}: scopes {', '.join(tok.scopes) or '(none)'}; "
            f"access token expires {access}; refresh token lapses {refresh}"
        )
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        settings.require("sdk_id")
        for line in status_lines(settings):
            print(line)
    except (ConfigError, TencentError, Exception) as exc:  # noqa: BLE001 - report, never trace secrets
        print(f"status failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    settings = _settings(args)
    settings.require("sdk_id")
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
    with store.lock:
        removed = store.remove(args.open_id)
    print(f"forgot {removed} stored login(s)")
    return 0


def doctor_report(settings: Settings) -> list[tuple[str, bool, str]]:
    """(check, ok, detail) rows; never includes a token or secret."""
    from resources.tencent.client import TencentMeetingClient

    rows: list[tuple[str, bool, str]] = []
    try:
        settings.require_for_client()
        rows.append(("config", True, f"auth mode {settings.auth_mode}, API {settings.api_base_url}"))
    except ConfigError as exc:
        return [("config", False, str(exc))]
    rows.append(("data", True, _data_policy(settings)))
    from pipelines.doctor_storage import storage_rows

    rows.extend(storage_rows(settings))
    refused = refused_login_rows(settings)
    if refused:
        return [*rows, *refused]
    try:
        clients = TencentMeetingClient.for_all_principals(settings)
    except (ConfigError, TencentError) as exc:
        return [*rows, ("credentials", False, str(exc))]
    if not clients:
        return [*rows, ("credentials", False, "no stored login; run `tmeet-etl auth login`")]
    for client in clients:
        who = client.open_id or f"operator {settings.operator_id}"
        granted: list[str] | None
        try:
            started = time.time()
            if client.open_id is not None:
                resp = client.get(sc.E_USER_INFO, "/v1/users/info/basic", dict(client.operator))
                assert client.tokens is not None
                granted = list(client.tokens.token(client.open_id).scopes)
            else:
                resp = client.get(sc.E_CORP_USERS, "/v1/corp/users", {**client.operator, "page_size": 1})
                granted = None
            rows.append(("connectivity", True, f"{who}: HTTP {resp.status} in {time.time() - started:.2f}s"))
            rows.append(_skew_row(resp.date_header))
            clock = server_clock(resp.date_header, resp.data_clock)
        except TencentError as exc:
            rows.append(("connectivity", False, f"{who}: {exc}"))
            client.close()
            continue
        from assets import registry  # the assets load Dagster: only a doctor run pays for it

        plan = sc.plan_assets(registry.scope_needs(), client.app_type, granted)
        rows.append(("scopes", True, ", ".join(granted) if granted is not None else "not reported for AK/SK apps"))
        rows.extend(coverage_plan(client, plan, now=lambda at=clock: at))
        client.close()
    return rows


def coverage_plan(
    client: Any, plan: sc.AssetPlan, now: Callable[[], float] = time.time
) -> list[tuple[str, bool, str]]:
    """Probe each endpoint family once and say which assets will run, which are refused and why.

    ``now`` is the server's clock: the probes ask about the last day the platform knows.
    """
    from pipelines.coverage import coverage_rows, probe_families

    return coverage_rows(client, plan, probe_families(client, now=now))


def server_clock(date_header: str, data_clock: str = "") -> float:
    """The server's time: the data clock the emulator reports, else the Date header, else ours."""
    if data_clock.isdigit():
        return float(data_clock)
    if date_header:
        try:
            return email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()


def refused_login_rows(settings: Settings) -> list[tuple[str, bool, str]]:
    """A failing row per stored login whose refresh token the platform refused (no network call)."""
    if settings.auth_mode != "oauth":
        return []
    try:
        tokens = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key).read_all()
    except (OSError, TencentError, TokenStoreError) as exc:
        return [("credentials", False, f"token store unreadable: {exc}")]
    return [("credentials", False, f"open_id {oid}: {tok.refused_message()}")
            for oid, tok in sorted(tokens.items()) if tok.refused]


def _data_policy(settings: Settings) -> str:
    scrubbed = {c: a for c, a in settings.pii_policy.items() if a != "keep"}
    policy = ", ".join(f"{c}={a}" for c, a in sorted(scrubbed.items())) or "every PII column kept"
    archive = "raw pages not archived" if scrubbed else "raw pages archived"
    return f"{settings.data_dir}: files {settings.file_mode}; PII policy: {policy}; {archive}"


def _skew_row(date_header: str) -> tuple[str, bool, str]:
    if not date_header:
        return ("clock", True, "server sent no Date header; skew unknown")
    server = email.utils.parsedate_to_datetime(date_header)
    skew = (datetime.now(UTC) - server).total_seconds()
    ok = abs(skew) < timedelta(minutes=4).total_seconds()
    return ("clock", ok, f"local clock is {skew:+.1f}s off the server (limit ±300s)")


def cmd_doctor(args: argparse.Namespace) -> int:
    from resources.accounts import load_accounts

    print(f"[ok] env file: {describe_env_file()}")
    try:
        accounts = load_accounts()
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"[FAIL] config: {exc}")
        return 1
    if accounts is None:
        return _print_rows(doctor_report(settings))
    print(f"[ok] accounts: {len(accounts.accounts)} in {accounts.path}: {', '.join(accounts.ids)}")
    worst = 0
    for account in accounts.accounts:
        print(f"== account {account.id} ({account.display_name})")
        try:
            rows = doctor_report(account.resolved())
        except ConfigError as exc:
            rows = [("config", False, str(exc))]
        worst = max(worst, _print_rows(rows))
    return worst


def _print_rows(rows: list[tuple[str, bool, str]]) -> int:
    for check, ok, detail in rows:
        print(f"[{_status(check, ok)}] {check}: {detail}")
    return 0 if all(ok or check == "skipped" for check, ok, _ in rows) else 1


def _status(check: str, ok: bool) -> str:
    if check in ("skipped", "note"):
        return check[:4]
    return "ok" if ok else "FAIL"
