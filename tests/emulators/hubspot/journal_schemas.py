"""The response schemas of HubSpot's Webhooks Journal 2026-03, as facts to check bodies against.

HubSpot's spec (`PublicApiSpecs/Webhooks Journal/Webhooks Journal/Rollouts/284944/2026-03/
webhooksJournal.json` in https://github.com/HubSpot/HubSpot-public-api-spec-collection, commit
99893791383254f52aa07662baeb98aad65cc710) is "proprietary to HubSpot and not licensed for
external use", so it is not vendored. These are the schemas' field names, required fields,
types and enums, written down by hand from it: enough to validate a body, nothing copied.
Each entry: field -> (type, required); types are "string", "date-time", "uuid", "int",
"bool", "object", "array:<item schema or type>", "enum:A|B".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

ACTIONS = (
    "CREATE|UPDATE|DELETE|MERGE|RESTORE|ASSOCIATION_ADDED|ASSOCIATION_REMOVED|SNAPSHOT|"
    "APP_INSTALL|APP_UNINSTALL|ADDED_TO_LIST|REMOVED_FROM_LIST|GDPR_DELETE"
)
SCHEMAS: dict[str, dict[str, tuple[str, bool]]] = {
    "JournalFetchResponse": {
        "currentOffset": ("uuid", True),
        "expiresAt": ("date-time", True),
        "url": ("string", True),
    },
    "BatchResponseJournalFetchResponse": {
        "status": ("enum:CANCELED|COMPLETE|PENDING|PROCESSING", True),
        "results": ("array:JournalFetchResponse", True),
        "startedAt": ("date-time", True),
        "completedAt": ("date-time", True),
        "requestedAt": ("date-time", False),
        "links": ("object", False),
    },
    "BatchResponseJournalFetchResponseWithErrors": {
        "status": ("enum:CANCELED|COMPLETE|PENDING|PROCESSING", True),
        "results": ("array:JournalFetchResponse", True),
        "startedAt": ("date-time", True),
        "completedAt": ("date-time", True),
        "requestedAt": ("date-time", False),
        "links": ("object", False),
        "errors": ("array:StandardError", False),
        "numErrors": ("int", False),
    },
    "StandardError": {
        "status": ("string", True),
        "id": ("string", False),
        "category": ("string", True),
        "subCategory": ("object", False),
        "message": ("string", True),
        "errors": ("array:ErrorDetail", True),
        "context": ("object", True),
        "links": ("object", True),
    },
    "ErrorDetail": {
        "message": ("string", True),
        "code": ("string", False),
        "in": ("string", False),
        "subCategory": ("string", False),
        "context": ("object", False),
    },
    "Error": {
        "category": ("string", True),
        "correlationId": ("uuid", True),
        "message": ("string", True),
        "subCategory": ("string", False),
        "context": ("object", False),
        "errors": ("array:ErrorDetail", False),
        "links": ("object", False),
    },
    "SubscriptionResponse": {
        "id": ("int", True),
        "appId": ("int", True),
        "subscriptionType": (
            "enum:OBJECT|ASSOCIATION|EVENT|APP_LIFECYCLE_EVENT|LIST_MEMBERSHIP|"
            "GDPR_PRIVACY_DELETION",
            True,
        ),
        "objectTypeId": ("string", True),
        "actions": ("array:enum:" + ACTIONS, True),
        "createdAt": ("date-time", True),
        "updatedAt": ("date-time", True),
        "portalId": ("int", False),
        "properties": ("array:string", False),
        "objectIds": ("array:int", False),
        "associatedObjectTypeIds": ("array:string", False),
        "listIds": ("array:int", False),
        "createdBy": ("int", False),
        "deletedAt": ("date-time", False),
        "actionOverrides": ("object", False),
    },
    "CollectionResponseSubscriptionResponseNoPaging": {
        "results": ("array:SubscriptionResponse", True),
    },
    "FilterCreateResponse": {"filterId": ("int", True)},
    "FilterResponse": {
        "id": ("int", True),
        "createdAt": ("int", True),
        "filter": ("Filter", True),
    },
    "Filter": {"conditions": ("array:Condition", True)},
    "Condition": {
        "filterType": ("enum:CRM_OBJECT_PROPERTY", True),
        "property": ("string", True),
        "operator": (
            "enum:EQ|N_EQ|LT|GT|LTE|GTE|CONTAINS|STARTS_WITH|ENDS_WITH|IN|NOT_IN|IS_EMPTY|"
            "IS_NOT_EMPTY",
            True,
        ),
        "value": ("string", False),
        "values": ("array:string", False),
    },
}
# Error bodies may carry HubSpot's usual extra `status` field (every HubSpot error has it).
OPEN_SCHEMAS = frozenset({"Error"})


def problems(schema: str, body: Any, where: str = "$") -> list[str]:
    """What is wrong with `body` as an instance of `schema` (empty: it conforms)."""
    if schema in SCHEMAS:
        if not isinstance(body, dict):
            return [f"{where}: expected an object ({schema}), got {type(body).__name__}"]
        fields = SCHEMAS[schema]
        found = [
            f"{where}.{n}: required" for n, (_, req) in fields.items() if req and n not in body
        ]
        if schema not in OPEN_SCHEMAS:
            found += [f"{where}.{n}: not in {schema}" for n in body if n not in fields]
        for name, value in body.items():
            if name in fields:
                found += problems(fields[name][0], value, f"{where}.{name}")
        return found
    return _scalar(schema, body, where)


def _scalar(kind: str, value: Any, where: str) -> list[str]:  # noqa: PLR0911 - one per type
    if kind.startswith("array:"):
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        return [
            p for i, item in enumerate(value) for p in problems(kind[6:], item, f"{where}[{i}]")
        ]
    if kind.startswith("enum:"):
        return [] if value in kind[5:].split("|") else [f"{where}: {value!r} not in {kind[5:]}"]
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer, got {value!r}"]
    if kind == "object":
        return [] if isinstance(value, dict) else [f"{where}: expected an object"]
    if not isinstance(value, str):
        return [f"{where}: expected a string, got {value!r}"]
    if kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return [f"{where}: not a uuid: {value!r}"]
    if kind == "date-time":
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: not an ISO 8601 date-time: {value!r}"]
    return []


def assert_conforms(schema: str, body: Any) -> None:
    """Fail with every problem found."""
    found = problems(schema, body)
    assert not found, "\n".join(found)
