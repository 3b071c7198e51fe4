"""Message framing: schemaless Avro (the default) or the Confluent Schema Registry wire format.

With a registry URL, every message is ``0x00`` + the 4-byte big-endian schema id + the Avro
record: writers register their schema under the subject ``<topic>-value`` (TopicNameStrategy)
and readers fetch the writer's schema by id and resolve it against ours (so a producer may use an
older or newer compatible alert schema). Only the two REST calls this needs are made
(``GET /schemas/ids/{id}``, ``POST /subjects/{subject}/versions``), with the standard library.
"""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import fastavro

from varstream.stream.codec import DecodeError, _strip_logical, decode, encode, parsed_schema, schema_json

log = logging.getLogger(__name__)
MAGIC = 0


class RegistryError(RuntimeError):
    """The schema registry could not be reached or refused a request (an infrastructure fault,
    not a bad message: the consumer stops rather than dead-letter good alerts)."""


@dataclass
class WireFormat:
    """How messages are framed; ``registry_url`` None means schemaless Avro."""

    registry_url: str | None = None
    timeout_s: float = 10.0
    max_bytes: int = 1 << 20
    _by_id: dict[int, dict] = field(default_factory=dict, repr=False)
    _ids: dict[str, int] = field(default_factory=dict, repr=False)

    def _request(self, path: str, body: dict | None = None) -> dict:
        url = self.registry_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise KeyError(path) from None
            raise RegistryError(f"schema registry {url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryError(f"schema registry {url}: {exc}") from None

    def schema_id(self, name: str, subject: str) -> int:
        """Register schema ``name`` under ``subject`` (idempotent) and return its id."""
        key = f"{subject}/{name}"
        if key not in self._ids:
            self._ids[key] = int(self._request(f"/subjects/{subject}/versions", {"schema": schema_json(name)})["id"])
        return self._ids[key]

    def writer_schema(self, schema_id: int) -> dict:
        if schema_id not in self._by_id:
            try:
                text = self._request(f"/schemas/ids/{schema_id}")["schema"]
            except KeyError:
                raise DecodeError("unknown_schema", f"schema id {schema_id} is not in the registry") from None
            try:
                self._by_id[schema_id] = fastavro.parse_schema(_strip_logical(json.loads(text)))
            except Exception as exc:
                raise DecodeError("unknown_schema", f"schema id {schema_id} does not parse: {exc}") from None
        return self._by_id[schema_id]

    def encode(self, name: str, record: dict, topic: str | None = None) -> bytes:
        """Encode ``record`` under schema ``name`` (``topic`` names the registry subject)."""
        if self.registry_url is None:
            return encode(name, record)
        sid = self.schema_id(name, f"{topic or name}-value")
        return bytes([MAGIC]) + sid.to_bytes(4, "big") + encode(name, record)

    def decode(self, name: str, data: bytes | None) -> dict:
        """Decode a message into a record of our schema ``name``; raises :class:`DecodeError`."""
        if self.registry_url is None:
            return decode(name, data, self.max_bytes)
        if not data:
            raise DecodeError("empty", "empty message")
        if len(data) > self.max_bytes:
            raise DecodeError("too_large", f"message of {len(data)} bytes exceeds the {self.max_bytes}-byte limit")
        if len(data) < 5 or data[0] != MAGIC:
            raise DecodeError("bad_framing", "not in the Confluent wire format (magic byte 0 + schema id)")
        writer = self.writer_schema(int.from_bytes(data[1:5], "big"))
        buf = io.BytesIO(data[5:])
        try:
            record = fastavro.schemaless_reader(buf, writer, parsed_schema(name))
        except Exception as exc:
            raise DecodeError("schema_mismatch", f"not readable as {name}: {type(exc).__name__}: {str(exc)[:200]}") from None
        if buf.tell() != len(data) - 5:
            raise DecodeError("schema_mismatch", "bytes left after the record")
        return record
