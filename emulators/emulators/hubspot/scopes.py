"""Which scopes a CRM call needs, and HubSpot's 403 `MISSING_SCOPES` when a credential lacks
them.

Scoped credentials are Service Keys and OAuth access tokens; a private-app token (`--token`)
has every scope. Per HubSpot's specs (https://github.com/HubSpot/HubSpot-public-api-spec-collection,
`security` of each operation, identical in v3/v4 and the date-versioned files): reading
contacts or companies needs `crm.objects.{type}.read` (write scopes include reading here);
merging and GDPR deletes need `crm.objects.{type}.write`; properties accept the object's
read scope or `crm.schemas.{type}.read`; an association batch read accepts the read scope of
either object type (the generic spec ORs every object scope). The account details ask for no
CRM scope. The 403 body is the one HubSpot sends (seen in
https://github.com/singer-io/tap-hubspot/pull/220).
"""

from __future__ import annotations

from aiohttp import web

from emulators.hubspot.errors import HubSpotError, error_body

SCOPES_DOC = "https://developers.hubspot.com/scopes"
MISSING_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. "
    f"Read more about required scopes here: {SCOPES_DOC}."
)
_WRITES = ("/merge", "/gdpr-delete")


def required_scopes(request: web.Request) -> tuple[str, ...]:
    """Scopes of which the caller needs one for this request (empty: none needed)."""
    info = request.match_info
    resource = info.route.resource
    canonical = resource.canonical if resource is not None else ""
    if "from_type" in info:
        return tuple(f"crm.objects.{info[k]}.read" for k in ("from_type", "to_type"))
    if canonical.endswith("/contacts/gdpr-delete"):
        return ("crm.objects.contacts.write",)
    object_type = info.get("object_type")
    if object_type is None:
        return ()
    if canonical.startswith(("/crm/v3/properties", "/crm/properties")):
        return (f"crm.objects.{object_type}.read", f"crm.schemas.{object_type}.read")
    if canonical.endswith(_WRITES):
        return (f"crm.objects.{object_type}.write",)
    return (f"crm.objects.{object_type}.read", f"crm.objects.{object_type}.write")


def check_scopes(request: web.Request, granted: frozenset[str] | None) -> None:
    """Raise HubSpot's 403 when scoped credentials hold none of the needed scopes."""
    if granted is None:
        return
    needed = required_scopes(request)
    if not needed or granted.intersection(needed):
        return
    body = error_body(
        "MISSING_SCOPES",
        MISSING_MESSAGE,
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": list(needed)},
            }
        ],
    )
    body["links"] = {"scopes": SCOPES_DOC}
    raise HubSpotError(403, body)
