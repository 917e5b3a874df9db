"""`tmeet-etl emulator`: serve the Tencent Meeting API emulator, or export its ground truth.

The default port is 8766, because 8765 is where the pipeline's own OAuth callback listens (the demo
app's whitelisted redirect URIs are ``http://127.0.0.1:8765/callback`` and
``http://localhost:8765/callback``). ``--port 0`` takes any free port; the printed URL shows it.
"""

from __future__ import annotations

import argparse
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8766
SCALES = ("small", "demo", "large")
from emulator.faults import PROFILES as FAULT_PROFILES
PLATFORMS = ("api-reference", "scope-table")
ROLES_SHAPES = ("role-list", "reference")


class CliError(Exception):
    """A bad option; the message says how to fix it."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="Serve the Tencent Meeting API emulator (or export its ground truth with 'truth').",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_world_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--rate-limit", choices=("real", "off"), default="real", help="enforce the platform's quotas (default real)")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                        help="quota windows last F times as long: 0.01 makes a minute 0.6 s (default 1)")
    parser.add_argument("--apps", metavar="FILE", help='JSON {"apps": [...]}; default: one demo account-level app')
    parser.add_argument("--webhook-url", metavar="URL", help="push webhook events to this URL as the data clock advances")
    parser.add_argument("--webhook-token", help="the webhook Token (25 letters or digits) used to sign deliveries")
    parser.add_argument("--webhook-aes-key", help="the 43-character EncodingAESKey; omit for plain base64 payloads")
    parser.add_argument("--roles-shape", choices=ROLES_SHAPES, default="role-list",
                        help="how /v1/corp/user-roles answers without role_code (default role-list: "
                        "{user_role_list}, the older Java SDK; reference: the users of every role, "
                        "1095/52496); see docs/platform.md")
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    parser.set_defaults(func=serve_command)

    commands = parser.add_subparsers(dest="emulator_command", metavar="COMMAND")
    truth = commands.add_parser(
        "truth",
        help="Write the emulator's ground-truth tables for a generated world.",
        description="Compute the tables the pipeline must reproduce, straight from the emulator's model.",
    )
    _add_world_options(truth)
    truth.add_argument("--start", metavar="DATE", help="first business date (default: the first generated day)")
    truth.add_argument("--end", metavar="DATE", help="last business date (default: today at --now)")
    truth.add_argument("--out", metavar="DIR", required=True, help="directory for the truth tables")
    truth.add_argument("--auth-mode", choices=("aksk", "oauth"), default="aksk",
                       help="whose view: an AK/SK app (the whole truth, default) or an OAuth app")
    truth.add_argument("--app-type", choices=("account", "user"), default="account",
                       help="OAuth app type (default account)")
    truth.add_argument("--userid", action="append", default=[], metavar="USERID",
                       help="an authorizing user of a user-level app (repeat for several); for an "
                       "account-level OAuth app, the admin it acts for (default: the super admin)")
    truth.set_defaults(func=truth_command)

    sign = commands.add_parser(
        "sign",
        help="Print a ready-to-run curl command for one AK/SK-signed request.",
        description="Sign one request the way the SDKs do (docs/platform.md, 'AK/SK signing') and print it as a "
        "curl command, "
        "e.g. eval \"$(python -m emulator sign GET '/v1/corp/users?page_size=2&operator_id=u00000&operator_id_type=1')\"",
    )
    sign.add_argument("method", type=str.upper, help="HTTP method, e.g. GET")
    sign.add_argument("target", help="path and raw query exactly as sent, e.g. '/v1/corp/users?page_size=2&...'")
    sign.add_argument("--body", default="", help="raw request body (default empty)")
    sign.add_argument("--base-url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the emulator's URL")
    sign.add_argument("--apps", metavar="FILE", help="apps file the emulator was started with (default: the demo app)")
    sign.add_argument("--sdk-id", help="which app of --apps signs (default: the first with AK/SK)")
    sign.set_defaults(func=sign_command)


def _add_world_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    parser.add_argument("--scale", choices=SCALES, default="demo", help="enterprise size (default demo)")
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--now", metavar="ISO-8601", help="freeze the data clock here, e.g. 2026-03-01T09:00:00+08:00")
    parser.add_argument("--faults", choices=FAULT_PROFILES, default="none", help="fault profile (default none)")
    parser.add_argument("--platform", choices=PLATFORMS, default="api-reference",
                        help="which reading of the platform's rules (default api-reference: /v1/corp/* "
                        "takes AK/SK only and OAuth reads only OAuth-created meetings; scope-table: "
                        "account-level OAuth reads everything); see docs/platform.md")


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--now {value!r} is not ISO-8601; write e.g. 2026-03-01T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise CliError(f"--now {value!r} has no UTC offset; add one, e.g. +08:00 or Z")
    return moment


def _check_world(args: argparse.Namespace) -> None:
    if args.days < 1:
        raise CliError("--days must be at least 1")


def config_from_args(args: argparse.Namespace) -> Any:
    from emulator.app import EmulatorConfig

    _check_world(args)
    if args.time_scale <= 0:
        raise CliError("--time-scale must be positive, e.g. 0.01")
    if not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535")
    if args.webhook_url and not args.webhook_token:
        raise CliError("--webhook-url needs --webhook-token (the Token configured for the subscription)")
    if args.webhook_aes_key and len(args.webhook_aes_key) != 43:
        raise CliError("--webhook-aes-key must be exactly 43 characters (an EncodingAESKey)")
    if args.apps and not Path(args.apps).is_file():
        raise CliError(f"--apps {args.apps}: no such file")
    return EmulatorConfig(
        seed=args.seed,
        scale=args.scale,
        days=args.days,
        now=parse_now(args.now),
        faults=args.faults,
        rate_limit=args.rate_limit,
        time_scale=args.time_scale,
        apps_path=args.apps,
        webhook_url=args.webhook_url,
        webhook_token=args.webhook_token,
        webhook_aes_key=args.webhook_aes_key,
        platform=args.platform,
        roles_shape=args.roles_shape,
    )


def banner(base_url: str, emulator: Any) -> str:
    """What to print at start-up: the URL, every app's (fake) credentials, and the env to set."""
    lines = [f"Tencent Meeting API emulator serving at {base_url}", ""]
    config = emulator.config
    lines.append(
        f"world: seed={config.seed} scale={config.scale} days={config.days} "
        f"now={'real clock' if config.now is None else config.now.isoformat()} faults={config.faults} "
        f"rate-limit={config.rate_limit} platform={config.platform} roles-shape={config.roles_shape}"
    )
    lines.append("")
    for app in emulator.apps:
        lines.append(f"app {app.sdk_id} ({app.type}-level{', activated' if app.activated else ', NOT activated'})")
        lines.append(f"  sdk_id={app.sdk_id} secret={app.secret} corp_id={app.corp_id}")
        lines.append(f"  admin_userid={emulator.oauth.admin_of(app)}")
        lines.append(f"  redirect_uris={' '.join(app.redirect_uris)}")
        lines.append(f"  scopes={' '.join(sorted(app.scopes))}")
        if app.has_aksk:
            lines.append(f"  AK/SK: app_id={app.app_id} secret_id={app.secret_id} secret_key={app.secret_key}")
    lines += [
        "",
        "Point the pipeline at it with:",
        f"  export TMEET_API_BASE_URL={base_url} TMEET_OAUTH_BASE_URL={base_url}",
        f"OAuth authorize page: {base_url}/marketplace/authorize.html",
        f"Admin: {base_url}/_emulator/health and {base_url}/_emulator/stats",
    ]
    return "\n".join(lines)


def serve_command(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from emulator.app import build_app
    from emulator.apps import AppConfigError

    try:
        config = config_from_args(args)
        app = build_app(config)
    except (CliError, AppConfigError, ValueError) as exc:
        print(f"tmeet-etl emulator: {exc}", file=sys.stderr)
        return 2
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"tmeet-etl emulator: cannot bind {args.host}:{args.port} ({exc.strerror}); "
              "pick another --port, or 0 for any free one", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(banner(f"http://{host}:{port}", app.state.emulator), flush=True)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = uvicorn.Server(
        # The app sends its own Date header, from the emulator's (shiftable) server clock.
        uvicorn.Config(app, log_level=args.log_level, access_log=False, timeout_graceful_shutdown=5,
                       date_header=False)
    )
    server.run(sockets=[sock])
    return 0


def truth_command(args: argparse.Namespace) -> int:
    try:
        _check_world(args)
        now = parse_now(args.now)
        start = _parse_date(args.start, "--start")
        end = _parse_date(args.end, "--end")
        if start and end and start > end:
            raise CliError("--start must not be after --end")
        _check_viewer(args)
    except CliError as exc:
        print(f"tmeet-etl emulator truth: {exc}", file=sys.stderr)
        return 2
    from emulator.clock import Clock
    from emulator.enterprise import Enterprise
    from emulator.truth import Viewer, compute_viewer_truth, write_truth

    clock = Clock(now or datetime.now(UTC))
    data_faults = "hostile" if args.faults == "hostile" else "none"
    enterprise = Enterprise(args.seed, args.scale, args.days, clock, faults=data_faults)
    viewer = Viewer(platform=args.platform, auth_mode=args.auth_mode, app_type=args.app_type,
                    userids=frozenset(args.userid))
    try:
        tables = compute_viewer_truth(enterprise, start=start or enterprise.first_day,
                                      end=end or enterprise.anchor, viewer=viewer)
    except ValueError as exc:
        print(f"tmeet-etl emulator truth: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_truth(tables, out)
    print(f"wrote {len(tables)} truth tables to {out} (as seen by {_viewer_label(args)})")
    return 0


def _check_viewer(args: argparse.Namespace) -> None:
    if args.auth_mode == "aksk" and (args.app_type != "account" or args.userid):
        raise CliError("an AK/SK app is account-level and reads everything: drop --app-type and --userid, "
                       "or add --auth-mode oauth")
    if args.auth_mode == "oauth" and args.app_type == "user" and not args.userid:
        raise CliError("a user-level OAuth app sees only its authorizing users' data: name them with --userid")


def _viewer_label(args: argparse.Namespace) -> str:
    who = {"aksk": "an AK/SK app"}.get(args.auth_mode, f"{'a user' if args.app_type == 'user' else 'an account'}"
                                                        "-level OAuth app")
    users = f" for {', '.join(sorted(args.userid))}" if args.userid else ""
    return f"{who}{users}, platform {args.platform}"


def sign_command(args: argparse.Namespace) -> int:
    import shlex

    from emulator.apps import AppConfigError, load_apps
    from emulator.signing import signed_headers

    try:
        if not args.target.startswith("/"):
            raise CliError(f"target {args.target!r} must start with '/', e.g. /v1/corp/users?page_size=2")
        try:
            apps = list(load_apps(args.apps))
        except AppConfigError as exc:
            raise CliError(str(exc)) from None
        signers = [a for a in apps if a.has_aksk and (args.sdk_id is None or a.sdk_id == args.sdk_id)]
        if not signers:
            raise CliError("no app with AK/SK credentials" + (f" has sdk_id {args.sdk_id}" if args.sdk_id else "")
                           + "; pass the --apps file the emulator runs with, and --sdk-id")
    except CliError as exc:
        print(f"tmeet-etl emulator sign: {exc}", file=sys.stderr)
        return 2
    headers = signed_headers(signers[0], args.method, args.target, args.body.encode("utf-8"))
    parts = ["curl", "-sS", "-X", args.method]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    if args.body:
        parts += ["--data-raw", args.body]
    parts.append(args.base_url.rstrip("/") + args.target)
    print(" ".join(shlex.quote(p) for p in parts))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m emulator [options]``: the same as ``tmeet-etl emulator [options]``."""
    parser = argparse.ArgumentParser(prog="python -m emulator")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["emulator", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


def _parse_date(value: str | None, option: str) -> Any:
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; write YYYY-MM-DD") from None
