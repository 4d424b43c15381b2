from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("obs-core")
except PackageNotFoundError:  # running from a source tree without metadata
    VERSION = "0.0.0"
