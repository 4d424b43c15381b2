"""GenAI semantic-convention names obs-openai writes, and the operations it recognises.

Names follow the current GenAI conventions (``gen_ai.provider.name``, ``gen_ai.input.messages``,
``gen_ai.usage.cache_read.input_tokens``, the ``openai.*`` provider attributes), not the
deprecated ``gen_ai.system`` / ``gen_ai.prompt.N`` / ``gen_ai.openai.*`` ones.
"""

from __future__ import annotations

from typing import Final

from obs.instrumentation import declare_identifier_keys

SCOPE: Final = "obs.openai"

OPERATION: Final = "gen_ai.operation.name"
PROVIDER: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_STOP: Final = "gen_ai.request.stop_sequences"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
EMBEDDINGS_DIMENSIONS: Final = "gen_ai.embeddings.dimension.count"
OUTPUT_TYPE: Final = "gen_ai.output.type"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
CACHED_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
REASONING_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOKEN_TYPE: Final = "gen_ai.token.type"  # previous metric names only
TOKEN_MODALITY: Final = "gen_ai.token.modality"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
API_TYPE: Final = "openai.api.type"
REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
HTTP_STATUS: Final = "http.response.status_code"

#: Ids, names and enumerations obs-openai writes: the scrubber neither treats them as secrets nor
#: searches their values (a response id is unique per span: searching it would never hit the
#: clean-value cache). Declared here, by the integration that writes them, not in core.
IDENTIFIERS: Final = (
    OPERATION,
    PROVIDER,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    RESPONSE_ID,
    FINISH_REASONS,
    OUTPUT_TYPE,
    API_TYPE,
    REQUEST_SERVICE_TIER,
    RESPONSE_SERVICE_TIER,
    SYSTEM_FINGERPRINT,
    TOKEN_TYPE,
    SERVER_ADDRESS,
    SERVER_PORT,
    ERROR_TYPE,
    HTTP_STATUS,
)
declare_identifier_keys(*IDENTIFIERS)

PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE: Final = "azure.ai.openai"

# Metric names (current GenAI conventions) and the bucket boundaries they advise.
INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
USAGE_INPUT: Final = "gen_ai.client.inference.usage.input_tokens"
USAGE_OUTPUT: Final = "gen_ai.client.inference.usage.output_tokens"
USAGE_CACHE_READ: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
USAGE_REASONING: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
OPERATION_INPUT: Final = "gen_ai.client.inference.operation.input_tokens"
OPERATION_OUTPUT: Final = "gen_ai.client.inference.operation.output_tokens"
EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
EMBEDDINGS_INPUT: Final = "gen_ai.client.embeddings.operation.input_tokens"
# The names before GenAI moved to its own conventions (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup).
DURATION_METRIC: Final = "gen_ai.client.operation.duration"
TOKEN_METRIC: Final = "gen_ai.client.token.usage"
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

#: The model-call endpoints (``options.url`` on the client's request path) -> operation name.
#: Other endpoints (files, models, batches, ...) are not model calls and pass through untraced.
CHAT: Final = "chat"
RESPONSES: Final = "responses"
EMBEDDINGS: Final = "embeddings"
TEXT_COMPLETION: Final = "text_completion"
ENDPOINTS: Final[dict[str, str]] = {
    "/chat/completions": CHAT,
    "/responses": RESPONSES,
    "/embeddings": EMBEDDINGS,
    "/completions": TEXT_COMPLETION,
}
#: ``openai.api.type`` per endpoint: which of OpenAI's APIs answered.
API_TYPES: Final[dict[str, str]] = {
    CHAT: "chat_completions",
    RESPONSES: "responses",
    EMBEDDINGS: "embeddings",
    TEXT_COMPLETION: "completions",
}
#: ``gen_ai.operation.name`` per endpoint: the Responses API generates chat turns, so it is
#: reported as ``chat`` like chat completions (as the OpenAI conventions do).
OPERATION_NAMES: Final[dict[str, str]] = {
    CHAT: "chat",
    RESPONSES: "chat",
    EMBEDDINGS: "embeddings",
    TEXT_COMPLETION: "text_completion",
}
