"""The emulator as a child process (its own core and GIL), with the AK/SK and admin user it prints."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

# A fixed data clock makes every run land the same rows.
NOW = "2026-11-18T15:30:00+08:00"
STARTUP_TIMEOUT_SECONDS = 180.0

# With the emulator's limits off the client's own pacing is lifted too, or it would measure the pacing.
UNLIMITED = str(10**9)
UNLIMITED_CLIENT = {
    "TMEET_PER_MINUTE_LIMIT": UNLIMITED,
    "TMEET_CORP_PER_MINUTE_LIMIT": UNLIMITED,
    "TMEET_DAILY_LIMIT": UNLIMITED,
    "TMEET_ROUTE_LIMITS": f"/v1/corp/records={UNLIMITED},/v1/corp/user-roles={UNLIMITED}",
}

_AKSK = re.compile(r"AK/SK: app_id=(\S+) secret_id=(\S+) secret_key=(\S+)")


@dataclass
class EmulatorProcess:
    """``python -m emulator`` on a free loopback port; ``with EmulatorProcess(...) as emu:``."""

    scale: str = "large"
    days: int = 30
    rate_limit: str = "off"
    time_scale: float = 1.0
    seed: int = 7
    now: str = NOW
    # The benches sign with AK/SK, which both readings serve alike (docs/platform.md).
    platform: str = "api-reference"
    base_url: str = ""
    app_id: str = ""
    secret_id: str = ""
    secret_key: str = ""
    sdk_id: str = ""
    admin_userid: str = ""
    startup_s: float = 0.0
    process: subprocess.Popen[str] | None = None
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=30))

    def start(self) -> EmulatorProcess:
        cmd = [sys.executable, "-m", "emulator", "--port", "0", "--scale", self.scale, "--days", str(self.days),
               "--rate-limit", self.rate_limit, "--time-scale", str(self.time_scale), "--seed", str(self.seed),
               "--now", self.now, "--platform", self.platform, "--log-level", "error"]
        started = time.monotonic()
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if match := re.search(r"serving at (http://\S+)", line):
                self.base_url = match.group(1)
            elif match := re.search(r"sdk_id=(\S+) secret=", line):
                self.sdk_id = match.group(1)
            elif match := re.search(r"admin_userid=(\S+)", line):
                self.admin_userid = match.group(1)
            elif match := _AKSK.search(line):
                self.app_id, self.secret_id, self.secret_key = match.groups()
            elif line.startswith("Admin:"):
                break
        if not (self.base_url and self.secret_key):
            self.stop()
            raise RuntimeError(f"the emulator exited before printing its URL and AK/SK ({' '.join(cmd)})")
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_healthy()
        self.startup_s = time.monotonic() - started
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if self._http.get(self.base_url + "/_emulator/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the emulator at {self.base_url} did not become healthy")

    def _admin(self, method: str, path: str) -> httpx.Response:
        # uvicorn drops idle keep-alive connections after 5 s; a request racing that close is resent once.
        try:
            response = self._http.request(method, self.base_url + path)
        except httpx.TransportError:
            response = self._http.request(method, self.base_url + path)
        response.raise_for_status()
        return response

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "/_emulator/stats").json()  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        self._admin("POST", "/_emulator/stats/reset")

    def rss_mb(self) -> float:
        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def pipeline_env(self, data_dir: Path) -> dict[str, str]:
        """Environment for ``tmeet-etl sync`` against this emulator as its AK/SK enterprise app."""
        return {
            "TMEET_API_BASE_URL": self.base_url,
            "TMEET_OAUTH_BASE_URL": self.base_url,
            "TMEET_AUTH_MODE": "aksk",
            "TMEET_APP_ID": self.app_id,
            "TMEET_SECRET_ID": self.secret_id,
            "TMEET_SECRET_KEY": self.secret_key,
            "TMEET_SDK_ID": self.sdk_id,
            "TMEET_OPERATOR_ID": self.admin_userid,
            "TMEET_DATA_DIR": str(data_dir),
            "TMEET_STEP_RETRIES": "0",
            "TMEET_QUOTA_WINDOW_SECONDS": str(60 * self.time_scale),
            **(UNLIMITED_CLIENT if self.rate_limit == "off" else {}),
        }

    def stop(self) -> None:
        self._http.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
