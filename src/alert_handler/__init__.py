"""alert-handler: receive, de-duplicate, route, notify and remediate alerts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alert-handler")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
