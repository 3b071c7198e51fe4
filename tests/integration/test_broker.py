"""The embedded tansu broker: a real Kafka-protocol broker on 127.0.0.1, no mocks."""

import signal
import socket
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from varstream.stream.broker import EmbeddedBroker, free_port
from varstream.stream.settings import CONSUMER_DEFAULTS

pytestmark = pytest.mark.integration


def round_trip(bootstrap: str, n: int = 200) -> list[bytes]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic("roundtrip", num_partitions=3, replication_factor=1)]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(n):
        producer.produce("roundtrip", key=f"star-{i % 7}", value=f"{i}".encode())
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, **CONSUMER_DEFAULTS})
    consumer.subscribe(["roundtrip"])
    got, deadline = [], time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
    consumer.commit(asynchronous=False)
    consumer.close()
    return got


def test_embedded_broker_round_trip_and_clean_stop():
    broker = EmbeddedBroker()
    with broker:
        assert broker.port > 0
        got = round_trip(broker.bootstrap)
        assert sorted(int(v) for v in got) == list(range(200))     # nothing lost, nothing doubled
        process = broker.process
    assert process.poll() is not None                                 # stopped on leaving the block
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()


def test_broker_command_runs_until_interrupted():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "varstream", "broker", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"tansu broker on 127.0.0.1:{port}" in line
        assert len(round_trip(f"127.0.0.1:{port}", 20)) == 20
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert "broker stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
