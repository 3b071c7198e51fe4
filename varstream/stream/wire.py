"""Message framing: schemaless Avro (the default) or the Confluent Schema Registry wire format.

With a registry URL, every message is ``0x00`` + the 4-byte big-endian schema id + the Avro
record, written and read by confluent-kafka's own registry client and Avro serde
(``confluent_kafka.schema_registry``): writers register their schema under the subject
``<topic>-value`` (TopicNameStrategy); readers fetch the writer's schema by id and resolve it
against ours, so a producer may use an older or newer compatible schema. Registry settings
(``basic.auth.user.info``, ``ssl.ca.location``, …) pass through :attr:`WireFormat.registry_conf`.

Timestamps stay integer milliseconds since the Unix epoch on our side, as in :mod:`.codec`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from varstream.stream.codec import DecodeError, decode, encode, schema_json

log = logging.getLogger(__name__)
MAGIC = 0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class RegistryError(RuntimeError):
    """The schema registry could not be reached or refused a request (an infrastructure fault,
    not a bad message: the consumer stops rather than dead-letter good alerts)."""


def _millis(value: Any) -> Any:
    """Datetimes (the serde's reading of ``timestamp-millis``) back to integer milliseconds."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return (aware - _EPOCH) // dt.timedelta(milliseconds=1)
    if isinstance(value, dict):
        return {k: _millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_millis(v) for v in value]
    return value


@dataclass
class WireFormat:
    """How messages are framed; ``registry_url`` None means schemaless Avro."""

    registry_url: str | None = None
    registry_conf: dict[str, str] = field(default_factory=dict)
    max_bytes: int = 1 << 20
    _client: Any = field(default=None, repr=False)
    _serializers: dict[str, Any] = field(default_factory=dict, repr=False)
    _deserializers: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self):
        """The registry client (created on first use)."""
        if self._client is None:
            from confluent_kafka.schema_registry import SchemaRegistryClient

            self._client = SchemaRegistryClient({"url": self.registry_url, **self.registry_conf})
        return self._client

    def encode(self, name: str, record: dict, topic: str | None = None) -> bytes:
        """Encode ``record`` under schema ``name`` (``topic`` names the registry subject).

        Raises:
            RegistryError: the registry could not register or return the schema.
        """
        if self.registry_url is None:
            return encode(name, record)
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        if name not in self._serializers:
            self._serializers[name] = AvroSerializer(self.client(), schema_json(name),
                                                     conf={"auto.register.schemas": True})
        try:
            return self._serializers[name](record, SerializationContext(topic or name, MessageField.VALUE))
        except Exception as exc:
            if _is_registry_fault(exc):
                raise RegistryError(f"schema registry {self.registry_url}: {exc}") from None
            raise

    def decode(self, name: str, data: bytes | None) -> dict:
        """Decode a message into a record of our schema ``name``.

        Raises:
            DecodeError: ``empty``, ``too_large``, ``bad_framing`` (no magic byte and schema id),
                ``unknown_schema`` (an id the registry does not know) or ``schema_mismatch``
                (not readable as ``name``).
            RegistryError: the registry could not be reached.
        """
        if self.registry_url is None:
            return decode(name, data, self.max_bytes)
        if not data:
            raise DecodeError("empty", "empty message")
        if len(data) > self.max_bytes:
            raise DecodeError("too_large", f"message of {len(data)} bytes exceeds the {self.max_bytes}-byte limit")
        if len(data) <= 5 or data[0] != MAGIC:
            raise DecodeError("bad_framing", "not in the Confluent wire format (magic byte 0 + schema id)")
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        if name not in self._deserializers:
            self._deserializers[name] = AvroDeserializer(self.client(), schema_json(name))
        try:
            return _millis(self._deserializers[name](data, None))
        except Exception as exc:
            status = getattr(exc, "http_status_code", None)
            if status == 404:
                raise DecodeError("unknown_schema", f"schema id {int.from_bytes(data[1:5], 'big')} is not in the "
                                                    "registry") from None
            if _is_registry_fault(exc):
                raise RegistryError(f"schema registry {self.registry_url}: {exc}") from None
            raise DecodeError("schema_mismatch", f"not readable as {name}: {type(exc).__name__}: "
                                                 f"{str(exc)[:200]}") from None


def _is_registry_fault(exc: Exception) -> bool:
    """A registry answer other than 'not found', or no answer at all (connection, TLS, timeout)."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if isinstance(exc, SchemaRegistryError):
        return exc.http_status_code != 404
    transport = any(c.__name__ == "TransportError" and c.__module__.startswith("httpx") for c in type(exc).__mro__)
    return transport or isinstance(exc, OSError)
