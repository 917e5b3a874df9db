"""``tmeet-etl sync`` that also writes every request target it sent (``python -m bench.traced_sync OUT -- ARGS``).

The fetch-only baseline replays exactly these pages; recording costs one list append per request.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out, rest = Path(args[0]), [a for a in args[1:] if a != "--"]
    targets: list[str] = []
    original_send = httpx.Client.send

    def recording_send(self: httpx.Client, request: httpx.Request, *a: Any, **kw: Any) -> httpx.Response:
        targets.append(request.method + " " + request.url.raw_path.decode("ascii"))
        return original_send(self, request, *a, **kw)

    httpx.Client.send = recording_send  # type: ignore[method-assign]
    from pipelines.cli import main as cli_main

    try:
        return int(cli_main(["sync", *rest]) or 0)
    finally:
        out.write_text(json.dumps(targets), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
