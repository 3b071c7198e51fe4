"""The Kafka connection options every stream and view subcommand takes, and what they build."""

from __future__ import annotations

import argparse
import os

from varstream.stream.kafka import KafkaConfig, parse_kafka_options
from varstream.stream.wire import WireFormat

#: ``--bootstrap``'s default: ``$VARSTREAM_BOOTSTRAP``, else a broker on this machine.
DEFAULT_BOOTSTRAP = os.environ.get("VARSTREAM_BOOTSTRAP", "127.0.0.1:9092")


def add_kafka_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, metavar="HOST:PORT",
                   help=f"Kafka bootstrap servers (default $VARSTREAM_BOOTSTRAP or {DEFAULT_BOOTSTRAP})")
    p.add_argument("--kafka", action="append", metavar="KEY=VALUE",
                   help="extra librdkafka setting, e.g. security.protocol=SASL_SSL (repeatable; also "
                        "VARSTREAM_KAFKA_SECURITY_PROTOCOL=... in the environment); the settings varstream's "
                        "delivery guarantees depend on (enable.auto.commit, acks, partitioner, ...) are kept")
    p.add_argument("--schema-registry", metavar="URL",
                   help="Confluent Schema Registry URL: use its wire format (default: schemaless Avro)")
    p.add_argument("--registry-option", action="append", metavar="KEY=VALUE",
                   help="schema registry client setting, e.g. basic.auth.user.info=USER:SECRET or "
                        "ssl.ca.location=/ca.pem (repeatable)")


def kafka_from_args(args: argparse.Namespace) -> tuple[KafkaConfig, WireFormat]:
    """The cluster settings and the message framing the options name (exits on a malformed option)."""
    try:
        extra = parse_kafka_options(args.kafka)
        registry = parse_kafka_options(args.registry_option, "--registry-option")
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    return KafkaConfig(args.bootstrap, extra), WireFormat(args.schema_registry, registry)
