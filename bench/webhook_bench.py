"""Webhook receiver throughput: signed (plain and AES) events from a concurrent client, acks vs. inbox.

Run ``python -m bench.webhook_bench``. The receiver runs as ``tmeet-etl webhook serve`` in a
subprocess, exactly as in production; the client pre-signs every request so the numbers measure the
receiver, then sends them over loopback with a fixed number of connections.
"""

from __future__ import annotations

import argparse
import http.client
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from resources.webhooks import ACK_BODY, AesCipher, Inbox, WebhookSettings, compute_signature

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_TOKEN = "Bench0Token0For0Webhooks1"
BENCH_AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceiverProcess:
    """``tmeet-etl webhook serve`` in a child process on a free loopback port."""

    data_dir: Path
    token: str = BENCH_TOKEN
    aes_key: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox_path(self) -> Path:
        return WebhookSettings(token=self.token, data_dir=self.data_dir).inbox_path

    def start(self, timeout_s: float = 20.0) -> None:
        env = {**os.environ, "TMEET_WEBHOOK_TOKEN": self.token, "TMEET_DATA_DIR": str(self.data_dir)}
        env.pop("TMEET_WEBHOOK_AES_KEY", None)
        if self.aes_key:
            env["TMEET_WEBHOOK_AES_KEY"] = self.aes_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "receiver.log", "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "webhook", "serve", "--port", str(self.port), "--log-level", "warning"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the receiver exited with {self.process.returncode}; see {self.data_dir}/receiver.log")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not answer /healthz in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; what was committed is all that remains."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ReceiverProcess:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def signed_delivery(trace_id: str, token: str, aes_key: str | None) -> tuple[dict[str, str], bytes]:
    """Headers and body of one ``meeting.participant-joined`` delivery, signed now."""
    event = {
        "event": "meeting.participant-joined",
        "trace_id": trace_id,
        "payload": [
            {
                "operate_time": int(time.time() * 1000),
                "operator": {"userid": f"user-{trace_id[:6]}", "instance_id": "1"},
                "meeting_info": {"meeting_id": "13339451618278424869", "meeting_code": "445999969"},
            }
        ],
    }
    plaintext = json.dumps(event).encode()
    data = AesCipher(aes_key).encrypt(plaintext) if aes_key else base64.b64encode(plaintext).decode()
    timestamp, nonce = str(int(time.time() * 1000)), str(secrets.randbelow(10**12))
    headers = {"timestamp": timestamp, "nonce": nonce, "signature": compute_signature(token, timestamp, nonce, data)}
    return headers, json.dumps({"data": data}).encode()


def send_all(
    url: str, deliveries: list[tuple[str, dict[str, str], bytes]], concurrency: int
) -> tuple[list[str], list[float], float]:
    """Send every delivery from ``concurrency`` connections; returns (acked trace_ids, ack latencies s, wall s).

    One keep-alive ``http.client`` connection per thread: on two cores the client shares the CPU with
    the receiver, and httpx costs several times more CPU per request than the receiver itself, which
    would benchmark the client instead.
    """
    acked: list[str] = []
    latencies: list[float] = []
    pending = iter(deliveries)
    lock = threading.Lock()

    def worker() -> None:
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                trace_id, headers, body = item
                started = time.perf_counter()
                try:
                    connection.request("POST", "/webhook", body=body, headers={**headers, "Content-Type": "application/json"})
                    response = connection.getresponse()
                    text = response.read().decode()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    continue
                if response.status == 200 and text == ACK_BODY:
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        acked.append(trace_id)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, name=f"bench-client-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked, latencies, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_phase(data_dir: Path, events: int, concurrency: int, aes_key: str | None) -> dict[str, Any]:
    with ReceiverProcess(data_dir, aes_key=aes_key) as receiver:
        deliveries = [(tid, *signed_delivery(tid, receiver.token, aes_key)) for tid in (str(uuid.uuid4()) for _ in range(events))]
        acked, latencies, wall_s = send_all(receiver.url, deliveries, concurrency)
        with Inbox(receiver.inbox_path) as inbox:
            stored = inbox.count()
    return {
        "mode": "aes" if aes_key else "plain",
        "sent": events,
        "acknowledged": len(acked),
        "inbox_count": stored,
        "inbox_matches_acks": stored == len(acked),
        "events_per_s": len(acked) / wall_s,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "wall_s": wall_s,
    }


def run(events: int = 5000, aes_events: int = 1000, concurrency: int = 8) -> dict[str, Any]:
    """Benchmark a plain and an AES receiver; prints a table and returns the numbers."""
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        phases = [
            run_phase(Path(tmp) / "plain", events, concurrency, None),
            run_phase(Path(tmp) / "aes", aes_events, concurrency, BENCH_AES_KEY),
        ]
    acked = sum(p["acknowledged"] for p in phases)
    result = {
        "concurrency": concurrency,
        "phases": phases,
        "total_acknowledged": acked,
        "inbox_matches_acks": all(p["inbox_matches_acks"] for p in phases),
        "target_met": all(p["events_per_s"] >= 500 and p["p99_ms"] < 100 for p in phases),
    }
    _print_table(result)
    return result


def _print_table(result: dict[str, Any]) -> None:
    header = f"{'mode':<6} {'sent':>6} {'acked':>6} {'inbox':>6} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
    print(f"webhook receiver, {result['concurrency']} concurrent connections over loopback")
    print(header)
    print("-" * len(header))
    for p in result["phases"]:
        print(
            f"{p['mode']:<6} {p['sent']:>6} {p['acknowledged']:>6} {p['inbox_count']:>6} "
            f"{p['events_per_s']:>9.0f} {p['p50_ms']:>7.1f} {p['p99_ms']:>7.1f}"
        )
    print(f"inbox count equals acknowledged: {result['inbox_matches_acks']}; "
          f"target (>= 500 events/s, p99 < 100 ms) met: {result['target_met']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--aes-events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    result = run(args.events, args.aes_events, args.concurrency)
    return 0 if result["inbox_matches_acks"] else 1


if __name__ == "__main__":
    sys.exit(main())
