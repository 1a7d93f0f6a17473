"""Singer target that creates or updates Gather records through the Records API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("target-gather")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
