"""OTLP export: a direct protobuf span writer and the exporter that uses it."""
