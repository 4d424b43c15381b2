"""Messaging semantic-convention names obs-faststream writes (current, not deprecated, names).

Kept as plain constants rather than imported from ``opentelemetry-semantic-conventions``: the
messaging names moved between releases (``messaging.operation`` -> ``messaging.operation.type``,
``publish`` -> ``send``), and pinning them here keeps the output stable whatever version of the
conventions package a user has installed.
"""

from __future__ import annotations

from obs.instrumentation import declare_identifier_keys

SYSTEM = "messaging.system"
DESTINATION = "messaging.destination.name"
DESTINATION_TEMPLATE = "messaging.destination.template"
OPERATION_TYPE = "messaging.operation.type"
OPERATION_NAME = "messaging.operation.name"
MESSAGE_ID = "messaging.message.id"
CONVERSATION_ID = "messaging.message.conversation_id"
BODY_SIZE = "messaging.message.body.size"
BATCH_COUNT = "messaging.batch.message_count"
CONSUMER_GROUP = "messaging.consumer.group.name"
ERROR_TYPE = "error.type"

KAFKA_KEY = "messaging.kafka.message.key"
KAFKA_OFFSET = "messaging.kafka.offset"
KAFKA_PARTITION = "messaging.destination.partition.id"
RABBITMQ_ROUTING_KEY = "messaging.rabbitmq.destination.routing_key"
RABBITMQ_DELIVERY_TAG = "messaging.rabbitmq.message.delivery_tag"

SEND = "send"
PROCESS = "process"

# Ids, names and enumerations: the scrubber neither treats them as secrets nor searches them
# (a numeric message id is no card number).
declare_identifier_keys(
    SYSTEM,
    DESTINATION,
    DESTINATION_TEMPLATE,
    OPERATION_TYPE,
    OPERATION_NAME,
    MESSAGE_ID,
    CONVERSATION_ID,
    BODY_SIZE,
    BATCH_COUNT,
    CONSUMER_GROUP,
    KAFKA_OFFSET,
    KAFKA_PARTITION,
    RABBITMQ_DELIVERY_TAG,
)

# Metric instruments (messaging metric conventions).
CLIENT_OPERATION_DURATION = "messaging.client.operation.duration"
PROCESS_DURATION = "messaging.process.duration"
SENT_MESSAGES = "messaging.client.sent.messages"
CONSUMED_MESSAGES = "messaging.client.consumed.messages"

# Bucket boundaries the conventions recommend for messaging durations (seconds).
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
