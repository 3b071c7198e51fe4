"""``varstream serve`` as a child process of the demo (a real process, as in production; the tests
and benchmarks use it too, so it can be killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from varstream.stream.broker import free_port
from varstream.stream.kafka import Topics


class ServeProcess:
    """One ``python -m varstream serve`` process on ``bootstrap`` with its own metrics port.

    Its output goes to ``log_path`` (or is inherited when None); ``extra`` are more serve options;
    ``state_dir`` is where its local stores live (processes that should find each other's stores
    after a restart share it).
    """

    def __init__(self, bootstrap: str, topics: Topics, *extra: str, log_path: Path | None = None,
                 models_dir: str | Path | None = None, log_level: str = "info",
                 state_dir: str | Path | None = None) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        cmd = [sys.executable, "-m", "varstream", "serve", "--bootstrap", bootstrap, "--group", topics.group,
               "--input-topic", topics.alerts, "--output-topic", topics.classifications,
               "--deadletter-topic", topics.deadletter, "--metrics-port", str(self.metrics_port),
               "--log-level", log_level, *extra]
        if models_dir:
            cmd += ["--models", str(models_dir)]
        if state_dir:
            cmd += ["--state-dir", str(state_dir)]
        self._log = open(log_path, "wb") if log_path else None
        out = self._log if self._log else None
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT if out else None,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def metrics(self, timeout_s: float = 30.0) -> str:
        """The text of its ``/metrics`` page (waits until the server is up)."""
        deadline = time.time() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as resp:
                    return resp.read().decode()
            except OSError:
                if time.time() > deadline or not self.alive:
                    raise
                time.sleep(0.2)

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (graceful: pending stars classified, offsets committed), SIGKILL after ``timeout_s``."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
        return self.proc.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""
