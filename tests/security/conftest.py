"""The security suite reuses the reliability suite's pipeline (private Meltano folder, bounded
retries)."""

from __future__ import annotations

from tests.reliability.conftest import pipeline

__all__ = ["pipeline"]
