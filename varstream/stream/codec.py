"""Avro encoding of the stream's messages, with the schemas of ``varstream/schemas/``.

Messages are schemaless Avro by default (the bytes of one record, no header): both ends know the
schema. With a Confluent Schema Registry (see :mod:`varstream.stream.wire`) they carry the
Confluent wire format instead: a zero byte, the 4-byte big-endian schema id, then the record.

Timestamps (``timestamp-millis``) are handled as integer milliseconds since the Unix epoch (UTC)
on both sides; the logical type stays in the ``.avsc`` files for other readers.
"""

from __future__ import annotations

import io
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro

SCHEMA_FILES = {"alert": "alert.avsc", "classification": "classification.avsc",
                "deadletter": "deadletter.avsc", "state": "state.avsc"}


#: Every code a :class:`DecodeError` can carry (here and in :mod:`varstream.stream.wire`).
DECODE_CODES = ("empty", "too_large", "undecodable", "schema_mismatch", "bad_framing", "unknown_schema")


class DecodeError(ValueError):
    """Bytes that are not a valid record of the expected schema; ``code`` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def schemas_dir() -> Path:
    """``$VARSTREAM_SCHEMAS``, else the shipped schemas (package data ``varstream/schemas``, found
    through :mod:`importlib.resources`)."""
    env = os.environ.get("VARSTREAM_SCHEMAS")
    return Path(env) if env else Path(str(resources.files("varstream") / "schemas"))


def _strip_logical(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_logical(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical(v) for v in node]
    return node


@lru_cache(maxsize=None)
def schema_json(name: str) -> str:
    """The schema's JSON text as written in ``schemas/`` (what a registry is given)."""
    return (schemas_dir() / SCHEMA_FILES[name]).read_text()


@lru_cache(maxsize=None)
def parsed_schema(name: str) -> dict:
    """The parsed schema ``name`` (alert, classification, deadletter, state), timestamps as ints."""
    return fastavro.parse_schema(_strip_logical(json.loads(schema_json(name))))


def encode(name: str, record: dict) -> bytes:
    """The schemaless Avro bytes of ``record`` under schema ``name``."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema(name), record)
    return buf.getvalue()


def decode(name: str, data: bytes | None, max_bytes: int = 1 << 20) -> dict:
    """Decode schemaless Avro bytes, strictly: every byte must belong to exactly one record.

    Raises:
        DecodeError: ``empty``, ``too_large`` (over ``max_bytes`` bytes), ``undecodable``
            (truncated or not Avro) or ``schema_mismatch`` (bytes left over: another schema).
    """
    if not data:
        raise DecodeError("empty", "empty message")
    if len(data) > max_bytes:
        raise DecodeError("too_large", f"message of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    buf = io.BytesIO(data)
    try:
        record = fastavro.schemaless_reader(buf, parsed_schema(name), None)
    except (EOFError, StopIteration) as exc:
        raise DecodeError("undecodable", f"truncated or not {name} Avro ({type(exc).__name__})") from None
    except (ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise DecodeError("undecodable", f"not {name} Avro: {type(exc).__name__}: {str(exc)[:200]}") from None
    if buf.tell() != len(data):
        raise DecodeError("schema_mismatch", f"{len(data) - buf.tell()} bytes left after one {name} record: "
                                             "written with another schema")
    return record
