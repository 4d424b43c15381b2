"""What aiokafka and confluent-kafka brokers share: topics, partitions, offsets and keys.

The two clients differ only in how a record exposes them (attributes vs methods), which the
subclasses in ``kafka.py`` and ``confluent.py`` say.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage
from faststream.response import PublishCommand

from obs_faststream import _semconv as sc
from obs_faststream._adapter import Attributes, BrokerAdapter, text


class KafkaAdapterBase(BrokerAdapter):
    system = "kafka"

    def topic(self, record: Any) -> str:
        raise NotImplementedError

    def partition(self, record: Any) -> int | None:
        raise NotImplementedError

    def offset(self, record: Any) -> int | None:
        raise NotImplementedError

    def key(self, record: Any) -> object:
        raise NotImplementedError

    def publish_attributes(self, cmd: PublishCommand, attributes: Attributes) -> None:
        partition = getattr(cmd, "partition", None)
        if partition is not None:
            attributes[sc.KAFKA_PARTITION] = str(partition)
        key = text(getattr(cmd, "key", None))
        if key is not None:
            attributes[sc.KAFKA_KEY] = key

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        raw = msg.raw_message
        if isinstance(raw, (list, tuple)):
            return self.topic(raw[0]) if raw else ""
        return self.topic(raw)

    def consume_attributes(self, msg: StreamMessage[Any], attributes: Attributes) -> None:
        raw = msg.raw_message
        batch = isinstance(raw, (list, tuple))
        record = (raw[0] if raw else None) if batch else raw
        if record is None:
            return
        partition = self.partition(record)
        if partition is not None:
            attributes[sc.KAFKA_PARTITION] = str(partition)
        if not batch:
            offset = self.offset(record)
            if offset is not None:
                attributes[sc.KAFKA_OFFSET] = offset
            key = text(self.key(record))
            if key is not None:
                attributes[sc.KAFKA_KEY] = key

    def batch_size(self, msg: StreamMessage[Any]) -> int | None:
        raw = msg.raw_message
        return len(raw) if isinstance(raw, (list, tuple)) else None
