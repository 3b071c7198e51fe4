"""Producing records and knowing they arrived: the one produce-and-flush loop of the stream.

Used by ``varstream serve`` (classifications, changelog and dead letters) and ``varstream replay``
(alerts). A full local queue is waited out (delivery reports served, then retried), every
delivery failure is collected, and :meth:`Delivery.flush` raises if anything did not arrive, so
the caller commits its input offsets only after its output is safe (at-least-once).
"""

from __future__ import annotations

from typing import Callable

from confluent_kafka import Producer

from varstream.stream.kafka import KafkaConfig


class DeliveryError(RuntimeError):
    """Records could not be delivered; whatever depends on them (offset commits) must not happen."""


class Delivery:
    """An idempotent producer (see :meth:`KafkaConfig.producer`) with failure bookkeeping."""

    def __init__(self, kafka: KafkaConfig, producer: Producer | None = None, **settings) -> None:
        """``producer``: an already configured one (tests pass a fake that acks or fails)."""
        self.producer = producer if producer is not None else Producer(kafka.producer(**settings))
        self.failures: list[str] = []
        #: the highest acknowledged offset per (topic, partition)
        self.acked: dict[tuple[str, int], int] = {}

    def produce(self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None,
                on_delivered: Callable[[object], None] | None = None) -> None:
        """Queue one record (waiting while the local queue is full); ``on_delivered(msg)`` runs
        when the broker acknowledged it, failures are kept for :meth:`flush`."""

        def report(err, msg) -> None:
            if err is not None:
                self.failures.append(f"{topic}: {err}")
                return
            key = (msg.topic(), msg.partition())
            if msg.offset() > self.acked.get(key, -1):
                self.acked[key] = msg.offset()
            if on_delivered is not None:
                on_delivered(msg)

        kwargs = {"partition": partition} if partition is not None else {}
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=report, **kwargs)
                break
            except BufferError:            # local queue full: serve delivery reports, retry
                self.producer.poll(0.1)
        self.producer.poll(0)

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve delivery reports."""
        self.producer.poll(timeout_s)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every queued record is acknowledged.

        Raises:
            DeliveryError: records still queued after ``timeout_s`` seconds, or failed.
        """
        remaining = self.producer.flush(timeout_s)
        if remaining or self.failures:
            failed, self.failures = self.failures[:5], []
            raise DeliveryError(f"{remaining} records undelivered after {timeout_s:.0f} s; failures: {failed}")
