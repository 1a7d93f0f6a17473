"""The tap's exceptions, and the scrubbing that keeps secrets out of every message."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "***"
# Shorter values are not real secrets, and replacing them would mangle messages.
MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by `***`."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


class HubSpotError(Exception):
    """HubSpot answered in a way the tap cannot recover from; the message says what to do."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str = "",
        missing_scopes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        # From a 403 MISSING_SCOPES: the scopes HubSpot named (any one of them would do).
        self.missing_scopes = missing_scopes


class HubSpotAuthError(HubSpotError):
    """Credentials are missing, wrong, expired beyond refresh, or lack a scope."""


class HubSpotRateLimitError(HubSpotError):
    """A limit that retrying within this run cannot fix (the daily limit, or retries spent)."""


class MissingIdError(HubSpotError):
    """A record has no usable ID value and `fail_on_missing_id` is set."""
