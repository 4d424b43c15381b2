"""The distribution's version, for the instrumentation scope."""

from obs.instrumentation import distribution_version

VERSION = distribution_version("obs-httpx")
