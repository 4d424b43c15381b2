"""Shared test set-up. The ``obs_capture`` fixture comes from obs's own pytest plugin."""

from __future__ import annotations

import os
import socket

import pytest

SERVICES = {
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "nats": ("127.0.0.1", 4222),
    "mqtt": ("127.0.0.1", 1883),
}


def service_reachable(name: str) -> bool:
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip when a loopback service is down, except under CI=true where that is a failure."""
    if service_reachable(name):
        return
    host, port = SERVICES[name]
    message = f"{name} is not reachable on {host}:{port} (start it; .ci/run shows how)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
