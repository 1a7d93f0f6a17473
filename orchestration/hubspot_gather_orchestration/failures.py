"""Why a tenant's run failed, read from its log: retry only what a retry can fix.

A wrong token, a missing scope, an invalid setting or an ID property HubSpot does not have
fail the same way on every attempt: retrying them only delays the alert (three retries with
Dagster's exponential backoff took 11 minutes). Rate limits past the plugins' own retry budget,
HubSpot's or Gather's 5xx answers and network errors are transient and worth a later attempt.

The plugins name the failure in their last error lines (tap-hubspot-gather's
`HubSpotAuthError`, target-gather's "refused the API key", "invalid config: ...", ...); the
rules below match those lines, most specific first.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class FailureKind(str, enum.Enum):
    """What kind of failure a run had (the value is the run tag's value)."""

    AUTHENTICATION = "authentication"
    AUTHORIZATION = "authorization"
    INVALID_SETTINGS = "invalid_settings"
    UNKNOWN_ID_PROPERTY = "unknown_id_property"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"

    @property
    def retryable(self) -> bool:
        """Whether another attempt can succeed without anyone changing anything."""
        return self is FailureKind.TRANSIENT


# Ordered: a 403 is reported as a HubSpotAuthError too, so scopes come before credentials; a
# permanent cause wins over the transient noise (retries, closed connections) it may leave.
RULES: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    (
        FailureKind.AUTHORIZATION,
        re.compile(r"HTTP 403|lacks a scope|MISSING_SCOPES", re.IGNORECASE),
    ),
    (
        FailureKind.AUTHENTICATION,
        re.compile(
            r"HubSpotAuthError|GatherAuthError|HTTP 401|refused the API key"
            r"|INVALID_AUTHENTICATION|EXPIRED_AUTHENTICATION",
        ),
    ),
    (
        FailureKind.UNKNOWN_ID_PROPERTY,
        re.compile(r"\w+_id_property is '[^']*', but HubSpot has no \w+ property"),
    ),
    (
        FailureKind.INVALID_SETTINGS,
        re.compile(
            r"invalid config:|Config validation (?:error|failed)|ConfigValidationError"
            r"|is not JSON serializable|not a valid choice for"
        ),
    ),
    (
        FailureKind.TRANSIENT,
        re.compile(
            r"HTTP (?:429|5\d\d)|HubSpotRateLimitError|not delivered after|NoAnswerError"
            r"|ClientConnectorError|ConnectionError|ConnectTimeout|ReadTimeout|TimeoutError"
            r"|Server disconnected|Connection (?:reset|refused|aborted)",
        ),
    ),
)


@dataclass(frozen=True)
class Classified:
    """A failed run's kind and the line that shows it (None: no rule matched)."""

    kind: FailureKind
    evidence: str | None


def classify(log: str, returncode: int) -> Classified:
    """The kind of a failed run from its log and exit code.

    A run killed by a signal or by the orchestrator's timeout (negative code) is transient: a
    restarted machine or a slow portal is not the tenant's fault.
    """
    for kind, pattern in RULES:
        match = pattern.search(log)
        if match is not None:
            start = log.rfind("\n", 0, match.start()) + 1
            end = log.find("\n", match.end())
            return Classified(kind, log[start : end if end != -1 else len(log)].strip())
    if returncode < 0:
        return Classified(FailureKind.TRANSIENT, None)
    return Classified(FailureKind.UNKNOWN, None)
