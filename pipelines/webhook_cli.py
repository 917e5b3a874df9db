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
            "TMEET_WEBHOOK_TOLERANCE_S (default 300), TMEET_WEBHOOK_MAX_BODY_BYTES (default 1 MiB), "
            "TMEET_WEBHOOK_HEADER_TIMEOUT_S and TMEET_WEBHOOK_BODY_TIMEOUT_S (default 10 each), "
            "TMEET_WEBHOOK_KEEP_ALIVE_S (default 5), TMEET_WEBHOOK_MAX_HEADER_BYTES (default 32 KiB) "
            "and TMEET_WEBHOOK_MAX_CONNECTIONS (default 1000); see docs/webhooks.md."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, help="port to bind (default 8090)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from resources.webhooks import WebhookConfigError, WebhookSettings, create_app
    from resources.webhooks.server import server_config

    try:
        settings = WebhookSettings.from_env()
    except WebhookConfigError as exc:
        print(f"tmeet-etl webhook serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = server_config(create_app(settings), settings, host=args.host, port=args.port, log_level=args.log_level)
    uvicorn.Server(config).run()
    return 0
