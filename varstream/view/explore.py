"""``varstream explore``: a small web page on 127.0.0.1 that follows the classification topic live.

Standard library only (``http.server``), no build step, nothing fetched from the internet: the
page and its script are files of this package (``view/static``). A background thread follows two
topics from their start:

- the classification topic: the latest classification of every star and its history;
- the changelog of the state (``<group>-state-changelog``): every star's observations, with their
  bands, for its plot (:mod:`varstream.view.plot`).

Endpoints (JSON unless said):

- ``/`` — the table of stars; ``/star/<id>`` — one star's page (plot and history);
- ``/api/summary`` — counts per class and family, classifications seen;
- ``/api/stars?class=&family=&min_prob=&q=&sort=&order=&limit=`` — the latest classification per
  star, filtered (class, family, least probability, id substring) and sorted server-side (any
  column; ``limit`` rows, 500 by default, with the total);
- ``/api/star/<id>`` — its latest classification and history (oldest first);
- ``/api/star/<id>/plot.png`` — the three-panel plot (PNG), re-rendered when new classifications arrive.

Memory: one compact row per star, the last :data:`MAX_HISTORY` classifications per star, and the
observations of every star seen (33 bytes a point).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from varstream.stream.codec import DecodeError, decode
from varstream.stream.filters import RecordFilter
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.state import StarState, apply_change
from varstream.stream.wire import WireFormat

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: Classifications kept per star for its history.
MAX_HISTORY = 300
#: Rows ``/api/stars`` returns unless asked for another limit.
DEFAULT_LIMIT = 500
#: Rendered plots kept (the newest).
PLOT_CACHE = 64
COLUMNS = ("object_id", "predicted_class", "probability", "family", "family_probability", "nonperiodic_probability",
           "n_observations", "period_days", "latency_s", "published")


def summary_row(rec: dict, received_ms: int) -> dict:
    """The table row of a classification record."""
    top = max(rec["probabilities"], key=lambda p: p["probability"])
    return {"object_id": rec["object_id"], "predicted_class": rec["predicted_class"],
            "probability": round(top["probability"], 4), "family": rec.get("family", ""),
            "family_probability": round(rec.get("family_probability", 0.0), 4),
            "nonperiodic_probability": (None if rec.get("nonperiodic_probability") is None
                                        else round(rec["nonperiodic_probability"], 4)),
            "prior": rec.get("prior", ""),
            "n_observations": rec["n_observations"], "period_days": rec["period_days"],
            "latency_s": round((received_ms - rec["first_ingest_time"]) / 1000, 3), "published": rec["publish_time"],
            "exact": rec.get("exact", True)}


@dataclass
class Catalogue:
    """What the explorer knows: latest row, history and state per star (thread-safe)."""

    rows: dict[str, dict] = field(default_factory=dict)
    histories: dict[str, list[dict]] = field(default_factory=dict)
    states: dict[str, StarState] = field(default_factory=dict)
    classifications: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_classification(self, rec: dict, received_ms: int) -> None:
        with self.lock:
            self.classifications += 1
            oid = rec["object_id"]
            hist = self.histories.setdefault(oid, [])
            hist.append(rec)
            if len(hist) > MAX_HISTORY:
                del hist[: len(hist) - MAX_HISTORY]
            old = self.rows.get(oid)
            if old is None or rec["n_observations"] >= old["n_observations"]:
                self.rows[oid] = summary_row(rec, received_ms)

    def add_change(self, change: dict) -> None:
        oid = change.get("object_id")
        if not oid:
            return
        with self.lock:
            state = self.states.get(oid)
            if state is None:
                state = self.states[oid] = StarState(oid, 0)
            apply_change(state, change)

    def select(self, params: dict[str, str]) -> dict:
        """The rows ``/api/stars`` answers with (see the module notes)."""
        with self.lock:
            rows = list(self.rows.values())
        q = params.get("q", "").lower()
        wanted = RecordFilter.parse(params.get("class"), params.get("family"), params.get("min_prob"))
        if wanted.active:
            rows = [r for r in rows if wanted.matches(r["predicted_class"], r["family"], r["probability"])]
        if q:
            rows = [r for r in rows if q in r["object_id"].lower()]
        key = params.get("sort") or "published"
        if key not in COLUMNS:
            key = "published"
        # a missing value (no non-periodic outcome) sorts below every number
        rows.sort(key=lambda r: (r[key] is not None, r[key] if r[key] is not None else 0),
                  reverse=params.get("order", "desc") != "asc")
        limit = int(params.get("limit") or DEFAULT_LIMIT)
        return {"total": len(rows), "rows": rows[:limit]}

    def summary(self) -> dict:
        with self.lock:
            rows = list(self.rows.values())
            n = self.classifications
        return {"stars": len(rows), "classifications": n,
                "classes": dict(Counter(r["predicted_class"] for r in rows).most_common()),
                "families": dict(Counter(r["family"] for r in rows).most_common())}

    def star(self, object_id: str) -> tuple[list[dict], StarState | None]:
        with self.lock:
            return list(self.histories.get(object_id, [])), self.states.get(object_id)


class Follower(threading.Thread):
    """Follows the classification topic and the state changelog into a :class:`Catalogue`."""

    def __init__(self, kafka: KafkaConfig, topics: Topics, catalogue: Catalogue, wire: WireFormat | None = None) -> None:
        super().__init__(name="explore-follower", daemon=True)
        self.kafka, self.topics, self.catalogue = kafka, topics, catalogue
        self.wire = wire or WireFormat()
        self.stop = threading.Event()

    def _assign(self, consumer: Consumer) -> None:
        assigned = []
        for topic in (self.topics.classifications, self.topics.changelog):
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and not meta.error:
                assigned += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        consumer.assign(assigned)
        self._topics_seen = {tp.topic for tp in assigned}

    def run(self) -> None:
        consumer = Consumer(self.kafka.client(**{"group.id": "varstream-explore", "enable.auto.commit": False,
                                                 "fetch.wait.max.ms": 100}))
        self._topics_seen: set[str] = set()
        try:
            while not self.stop.is_set():
                if len(self._topics_seen) < 2:
                    self._assign(consumer)                     # topics appear when the stream starts
                    if len(self._topics_seen) < 2:
                        self.stop.wait(1.0)
                for msg in consumer.consume(2000, 0.5):
                    if msg.error() or msg.value() is None:
                        continue
                    try:
                        if msg.topic() == self.topics.classifications:
                            self.catalogue.add_classification(self.wire.decode("classification", msg.value()),
                                                              int(time.time() * 1000))
                        else:
                            self.catalogue.add_change(decode("state", msg.value()))
                    except DecodeError as exc:
                        log.warning("%s[%d]@%d unreadable: %s", msg.topic(), msg.partition(), msg.offset(), exc)
        finally:
            consumer.close()


class Explorer:
    """The HTTP server and its follower (see the module notes). ``attach`` starts following a
    stream; ``detach`` stops following it (the page keeps what it has, e.g. after the demo's broker
    stopped); ``close`` stops everything."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8088) -> None:
        self.catalogue = Catalogue()
        self.follower: Follower | None = None
        self._plots: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._plot_lock = threading.Lock()
        explorer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                explorer.handle(self)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("explore: " + fmt, *args)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> Explorer:
        threading.Thread(target=self.server.serve_forever, name="explore-http", daemon=True).start()
        log.info("explorer on %s", self.address)
        return self

    def attach(self, kafka: KafkaConfig, topics: Topics = Topics(), wire: WireFormat | None = None) -> None:
        """Follow a stream's classification topic and state changelog."""
        self.detach()
        self.follower = Follower(kafka, topics, self.catalogue, wire)
        self.follower.start()

    def detach(self) -> None:
        if self.follower is not None:
            self.follower.stop.set()
            self.follower.join(10)
            self.follower = None

    def close(self) -> None:
        self.detach()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ requests

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(req.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path
        try:
            if path in ("/", "/index.html"):
                return self._file(req, "index.html", "text/html; charset=utf-8")
            if path.startswith("/static/"):
                name = path[len("/static/"):]
                kind = {"js": "text/javascript", "css": "text/css"}.get(name.rsplit(".", 1)[-1], "text/plain")
                return self._file(req, name, kind + "; charset=utf-8")
            if path.startswith("/star/"):
                return self._file(req, "star.html", "text/html; charset=utf-8")
            if path == "/api/summary":
                return self._json(req, self.catalogue.summary())
            if path == "/api/stars":
                return self._json(req, self.catalogue.select(params))
            if path.startswith("/api/star/"):
                rest = urllib.parse.unquote(path[len("/api/star/"):])
                if rest.endswith("/plot.png"):
                    return self._plot(req, rest[: -len("/plot.png")])
                history, _ = self.catalogue.star(rest)
                if not history:
                    return self._error(req, HTTPStatus.NOT_FOUND, f"no classification of star {rest}")
                return self._json(req, {"object_id": rest, "latest": history[-1], "history": history})
            return self._error(req, HTTPStatus.NOT_FOUND, f"no page {path}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except ValueError as exc:
            self._error(req, HTTPStatus.BAD_REQUEST, str(exc))

    def _send(self, req: BaseHTTPRequestHandler, body: bytes, kind: str, status: int = 200) -> None:
        req.send_response(status)
        req.send_header("Content-Type", kind)
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Cache-Control", "no-store")
        req.end_headers()
        req.wfile.write(body)

    def _file(self, req, name: str, kind: str) -> None:
        path = (STATIC / name).resolve()
        if path.parent != STATIC or not path.is_file():
            return self._error(req, HTTPStatus.NOT_FOUND, f"no file {name}")
        self._send(req, path.read_bytes(), kind)

    def _json(self, req, obj) -> None:
        self._send(req, json.dumps(obj).encode(), "application/json")

    def _error(self, req, status: HTTPStatus, message: str) -> None:
        self._send(req, json.dumps({"error": message}).encode(), "application/json", int(status))

    def _plot(self, req, object_id: str) -> None:
        from varstream.view.plot import history_from_records, render, star_view

        history, state = self.catalogue.star(object_id)
        if state is None and not history:
            return self._error(req, HTTPStatus.NOT_FOUND, f"nothing known of star {object_id}")
        key = (object_id, len(history) + (state.n_observations if state else 0))
        with self._plot_lock:
            png = self._plots.get(key)
        if png is None:
            import io

            import matplotlib.pyplot as plt

            view = star_view(state.lightcurve(), history_from_records(history), title=_title(history, object_id)) \
                if state is not None and state.n_observations else None
            if view is None:
                from varstream.view.plot import StarView
                import numpy as np

                view = StarView(object_id, np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=str),
                                np.empty(0, dtype=bool), history=history_from_records(history), note="no observations")
            fig = render(view)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            plt.close(fig)
            png = buf.getvalue()
            with self._plot_lock:
                self._plots[key] = png
                while len(self._plots) > PLOT_CACHE:
                    self._plots.popitem(last=False)
        self._send(req, png, "image/png")


def _title(history: list[dict], object_id: str) -> str:
    if not history:
        return object_id
    rec = history[-1]
    return (f"{object_id}: {rec['predicted_class']} ({max(p['probability'] for p in rec['probabilities']):.2f}), "
            f"family {rec.get('family', '?')} ({rec.get('family_probability', 0):.2f})")
