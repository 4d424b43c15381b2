"""Bridges from the logging libraries Python teams already use to obs's log spans.

- ``stdlib``: a ``logging.Handler`` (``obs.LogHandler``), installed on the root logger by
  ``configure(logging=True)`` / ``OBS_LOGGING``;
- ``structlog``: a processor (``obs.StructlogProcessor``);
- ``loguru``: a sink (``obs.loguru_sink``).

None imports the library it bridges: each reads the records it is handed (duck-typed), so
obs-core depends on neither. All three share ``_records``: level mapping, the loggers obs never
bridges (its own, OpenTelemetry's: their records would feed back into the export they
describe), and per-logger levels for libraries' noise.
"""
