"""Can the configured credential read what the tap reads? One cheap read per object type.

A Service Key has no introspection (that needs an OAuth app's client id and secret), so the
check proves a key by using it: `GET <objects list>?limit=1` per object type, before any other
request. A 401 means the key (or token) is refused; a 403 `MISSING_SCOPES` names the scope
HubSpot wants, and the check collects them so one line names every missing scope
(https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/account-service-keys).
"""

from __future__ import annotations

from collections.abc import Sequence

from tap_hubspot_gather.client import (
    KEY_SCOPES_FIX,
    OAUTH_SCOPES_FIX,
    TAP_SCOPES,
    HubSpotClient,
)
from tap_hubspot_gather.errors import HubSpotAuthError

HTTP_FORBIDDEN = 403
# The smallest page the list endpoint serves: the read is about access, not data.
PROBE_LIMIT = "1"


def check_access(client: HubSpotClient, object_types: Sequence[str]) -> None:
    """Return when the credential reads every object type; else raise one actionable line.

    A refused credential (401) raises the client's own message at once; missing scopes are
    gathered over every object type first.
    """
    missing: dict[str, None] = {}
    for object_type in dict.fromkeys(object_types):
        scope = _missing_scope(client, object_type)
        if scope:
            missing[scope] = None
    if missing:
        names = ", ".join(missing)
        fix = OAUTH_SCOPES_FIX if client.auth.can_refresh else KEY_SCOPES_FIX
        fix = fix.replace("add it", "add them" if len(missing) > 1 else "add it")
        kind = "OAuth app" if client.auth.can_refresh else "Service Key (access_token)"
        msg = f"The {kind} lacks the scope{'s' if len(missing) > 1 else ''} {names}: {fix}."
        raise HubSpotAuthError(msg, status=HTTP_FORBIDDEN, missing_scopes=tuple(missing))


def _missing_scope(client: HubSpotClient, object_type: str) -> str | None:
    """The scope a cheap read of `object_type` lacks (None: it reads). HubSpot may name
    alternatives; the tap's own scope among them is the one to add."""
    try:
        client.get(client.paths.objects(object_type), {"limit": PROBE_LIMIT}, kind="check_access")
    except HubSpotAuthError as exc:
        if exc.status != HTTP_FORBIDDEN or not exc.missing_scopes:
            raise
        ours = [s for s in exc.missing_scopes if s in TAP_SCOPES]
        return (ours or list(exc.missing_scopes))[0]
    return None
