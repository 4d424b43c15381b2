"""The names obs-burr records: span attributes, span names and the workflow metric.

Burr has no semantic convention of its own (DESIGN.md fixes the ``burr.`` prefix); the
application call and tool actions follow the GenAI workflow and tool conventions.
"""

from __future__ import annotations

from obs.instrumentation import declare_identifier_keys, distribution_version

SCOPE = "obs.burr"
VERSION = distribution_version("obs-burr")

APP_ID = "burr.app_id"
PARTITION_KEY = "burr.partition_key"
SEQUENCE_ID = "burr.sequence_id"
ACTION = "burr.action"
METHOD = "burr.method"
WRITES = "burr.writes"
STREAMING = "burr.stream"
STREAM_ITEMS = "burr.stream.items"
STREAM_STOPPED_EARLY = "burr.stream.stopped_early"
SPAWNING_APP_ID = "burr.spawning_parent.app_id"
SPAWNING_SEQUENCE_ID = "burr.spawning_parent.sequence_id"
# The GenAI workflow and tool conventions, for the application call and tool actions.
OPERATION = "gen_ai.operation.name"
WORKFLOW_NAME = "gen_ai.workflow.name"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
INVOKE_WORKFLOW = "invoke_workflow"
EXECUTE_TOOL = "execute_tool"
WORKFLOW_DURATION = "gen_ai.invoke_workflow.duration"
#: An action tagged with this (``@action(..., tags=["tool"])``) is traced as a tool execution.
TOOL_TAG = "tool"
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
# Ids and names: the scrubber neither treats them as secrets nor searches their values.
declare_identifier_keys(
    APP_ID,
    SEQUENCE_ID,
    ACTION,
    METHOD,
    WRITES,
    SPAWNING_APP_ID,
    OPERATION,
    WORKFLOW_NAME,
    CONVERSATION_ID,
    TOOL_NAME,
    TOOL_TYPE,
)
