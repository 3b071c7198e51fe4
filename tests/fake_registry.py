"""A small local server that speaks the Confluent Schema Registry's REST API — the calls
confluent-kafka's registry client makes to register a schema and to fetch one by id.

No real registry installs here (Confluent's is Java, Karapace is not on PyPI), so this is the one
fake the integration tests may use; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeRegistry:
    """``with FakeRegistry() as url: ...``: schemas are kept in memory, ids from 1, one id per
    distinct schema text; ``subjects`` maps each subject to the ids registered under it."""

    def __init__(self) -> None:
        self.schemas: list[str] = []
        self.subjects: dict[str, list[int]] = {}
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                match = re.match(r"^/subjects/([^/?]+)/versions", self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not match:
                    return self._reply(404, {"error_code": 404, "message": "not found"})
                text = body["schema"]
                if text not in registry.schemas:
                    registry.schemas.append(text)
                sid = registry.schemas.index(text) + 1
                ids = registry.subjects.setdefault(match.group(1), [])
                if sid not in ids:
                    ids.append(sid)
                self._reply(200, {"id": sid})

            def do_GET(self):
                match = re.match(r"^/schemas/ids/(\d+)", self.path)
                sid = int(match.group(1)) if match else 0
                if 1 <= sid <= len(registry.schemas):
                    return self._reply(200, {"schema": registry.schemas[sid - 1]})
                self._reply(404, {"error_code": 40403, "message": f"Schema {sid} not found"})

            def _reply(self, status: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def register(self, subject: str, schema_text: str) -> int:
        """Register a schema directly (as another producer would); returns its id."""
        if schema_text not in self.schemas:
            self.schemas.append(schema_text)
        sid = self.schemas.index(schema_text) + 1
        self.subjects.setdefault(subject, []).append(sid)
        return sid

    def __enter__(self) -> FakeRegistry:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
