"""`tmeet-etl webhook serve`: run the event-subscription receiver."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(subparsers: Any) -> None:
    webhook = subparsers.add_parser("webhook", help="Receive Tencent Meeting event subscription callbacks.")
    commands = webhook.add_subparsers(dest="webhook_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="Serve the callback at /webhook (and /healthz).",
        description=(
            "Configured by TMEET_WEBHOOK_TOKEN (required), TMEET_WEBHOOK_AES_KEY (optional), "
            "TMEET_DATA_DIR (default ./data; events go to $TMEET_DATA_DIR/inbox/), "
            "TMEET_WEBHOOK_TOLERANCE_S (default 300) and TMEET_WEBHOOK_MAX_BODY_BYTES (default 1 MiB)."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, help="port to bind (default 8090)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from resources.webhooks import WebhookConfigError, WebhookSettings, create_app

    try:
        settings = WebhookSettings.from_env()
    except WebhookConfigError as exc:
        print(f"tmeet-etl webhook serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One worker on purpose: the nonce cache and the inbox writer live in this process.
    # The access log is off because it would print query strings (check_str) verbatim.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        server_header=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
    )
    return 0
