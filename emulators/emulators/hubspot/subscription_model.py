"""The app's webhooks-journal subscriptions and their filters (data only, no HTTP).

Shapes follow HubSpot's Webhooks Journal 2026-03 spec (`SubscriptionUpsertRequest`,
`SubscriptionResponse`, `Filter`, `FilterResponse`:
https://github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/Webhooks Journal).
Where HubSpot is silent the emulator chooses, and says so here:

- EMULATOR CHOICE (upsert key): `POST` "creates or updates"; a subscription with the same
  `subscriptionType`, `portalId` and `objectTypeId` is updated in place (its id kept, its
  actions, objectIds, properties and associatedObjectTypeIds replaced); sending the same body
  twice changes nothing, `updatedAt` included.
- EMULATOR CHOICE: `objectIds`, `properties` and `associatedObjectTypeIds` may be missing or
  empty, meaning "all" (the spec marks the first two required; live callers omit them).
- EMULATOR CHOICE: only the types this emulator can fire are accepted: OBJECT for 0-1
  (contacts), 0-2 (companies) and 0-3 (deals), ASSOCIATION between 0-1 and 0-2, and
  GDPR_PRIVACY_DELETION for 0-1; LIST_MEMBERSHIP and APP_LIFECYCLE_EVENT answer 400.
- Filters (reported from HubSpot's subscriptions guide, unverified): the conditions of one
  filter are ANDed, a subscription's filters ORed, and they apply to CREATE and UPDATE only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulators.hubspot.timeutil import iso_ms

# HubSpot's object type ids (https://developers.hubspot.com/docs/api/crm/understanding-the-crm).
OBJECT_TYPE_IDS: dict[str, str] = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
CONTACT, COMPANY = OBJECT_TYPE_IDS["contacts"], OBJECT_TYPE_IDS["companies"]

OBJECT_ACTIONS = ("CREATE", "UPDATE", "DELETE", "MERGE", "RESTORE")
ASSOCIATION_ACTIONS = ("ASSOCIATION_ADDED", "ASSOCIATION_REMOVED")
GDPR_ACTIONS = ("GDPR_DELETE",)
# Valid actions and object types per subscription type (spec descriptions).
VALID_ACTIONS: dict[str, tuple[str, ...]] = {
    "OBJECT": OBJECT_ACTIONS,
    "ASSOCIATION": ASSOCIATION_ACTIONS,
    "GDPR_PRIVACY_DELETION": GDPR_ACTIONS,
}
VALID_OBJECT_TYPES: dict[str, tuple[str, ...]] = {
    "OBJECT": tuple(OBJECT_TYPE_IDS.values()),
    "ASSOCIATION": (CONTACT, COMPANY),
    "GDPR_PRIVACY_DELETION": (CONTACT,),
}
NOT_EMULATED_TYPES = ("LIST_MEMBERSHIP", "APP_LIFECYCLE_EVENT", "EVENT")
OPERATORS = (
    "EQ",
    "N_EQ",
    "LT",
    "GT",
    "LTE",
    "GTE",
    "CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "IN",
    "NOT_IN",
    "IS_EMPTY",
    "IS_NOT_EMPTY",
)
# First ids handed out (HubSpot's are int64; any start will do).
FIRST_SUBSCRIPTION_ID = 3_100_001
FIRST_FILTER_ID = 8_200_001


class SubscriptionError(ValueError):
    """A subscription request HubSpot would refuse; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400, sub_category: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.sub_category = sub_category


@dataclass
class Condition:
    """One filter condition on a CRM property (`filterType` CRM_OBJECT_PROPERTY)."""

    property: str
    operator: str
    value: str | None = None
    values: tuple[str, ...] = ()

    def matches(self, values: Mapping[str, str]) -> bool:
        """Whether a record's current values satisfy the condition."""
        actual = values.get(self.property)
        op = self.operator
        if op == "IS_EMPTY":
            return actual is None
        if op == "IS_NOT_EMPTY":
            return actual is not None
        if op in ("IN", "NOT_IN"):
            inside = actual is not None and actual.lower() in {v.lower() for v in self.values}
            return inside if op == "IN" else not inside
        if op == "N_EQ":
            return actual is None or actual.lower() != (self.value or "").lower()
        if actual is None:
            return False
        return _compare(op, actual, self.value or "")

    def to_json(self) -> dict[str, Any]:
        """The condition as HubSpot shows it."""
        body: dict[str, Any] = {
            "filterType": "CRM_OBJECT_PROPERTY",
            "property": self.property,
            "operator": self.operator,
        }
        if self.value is not None:
            body["value"] = self.value
        if self.values:
            body["values"] = list(self.values)
        return body


def _compare(op: str, actual: str, wanted: str) -> bool:
    a, w = actual.lower(), wanted.lower()
    if op == "EQ":
        return a == w
    if op == "CONTAINS":
        return w in a
    if op == "STARTS_WITH":
        return a.startswith(w)
    if op == "ENDS_WITH":
        return a.endswith(w)
    try:  # LT, GT, LTE, GTE: numbers when both are numbers, else text
        left: float | str = float(actual)
        right: float | str = float(wanted)
    except ValueError:
        left, right = a, w
    return {
        "LT": left < right,  # type: ignore[operator]
        "GT": left > right,  # type: ignore[operator]
        "LTE": left <= right,  # type: ignore[operator]
        "GTE": left >= right,  # type: ignore[operator]
    }[op]


@dataclass
class Filter:
    """One filter of a subscription: its conditions are ANDed."""

    id: int
    subscription_id: int
    conditions: list[Condition]
    created_ms: int

    def matches(self, values: Mapping[str, str]) -> bool:
        """Whether every condition holds."""
        return all(c.matches(values) for c in self.conditions)

    def to_json(self) -> dict[str, Any]:
        """`FilterResponse`."""
        return {
            "id": self.id,
            "createdAt": self.created_ms,
            "filter": {"conditions": [c.to_json() for c in self.conditions]},
        }


@dataclass
class Subscription:
    """One subscription of the app."""

    id: int
    app_id: int
    subscription_type: str
    portal_id: int
    object_type_id: str
    actions: list[str]
    object_ids: list[int]
    properties: list[str]
    associated_object_type_ids: list[str]
    created_ms: int
    updated_ms: int
    filters: dict[int, Filter] = field(default_factory=dict)

    def wants(self, action: str, object_type_id: str, *object_ids: int) -> bool:
        """Whether an event of this action on these records belongs to this subscription."""
        if action not in self.actions or object_type_id != self.object_type_id:
            return False
        return not self.object_ids or any(i in self.object_ids for i in object_ids)

    def passes_filters(self, values: Mapping[str, str]) -> bool:
        """No filters, or at least one filter matching the record (filters are ORed)."""
        return not self.filters or any(f.matches(values) for f in self.filters.values())

    def wants_property(self, name: str) -> bool:
        """Whether a change of this property is of interest (empty `properties`: all are)."""
        return not self.properties or name in self.properties

    def to_json(self) -> dict[str, Any]:
        """`SubscriptionResponse`."""
        body: dict[str, Any] = {
            "id": self.id,
            "appId": self.app_id,
            "subscriptionType": self.subscription_type,
            "portalId": self.portal_id,
            "objectTypeId": self.object_type_id,
            "actions": list(self.actions),
            "objectIds": list(self.object_ids),
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
        }
        if self.subscription_type == "OBJECT":
            body["properties"] = list(self.properties)
        if self.subscription_type == "ASSOCIATION":
            body["associatedObjectTypeIds"] = list(self.associated_object_type_ids)
        return body


def _string_list(body: Mapping[str, Any], name: str) -> list[str]:
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        msg = f"{name} must be a list of strings"
        raise SubscriptionError(msg)
    return list(dict.fromkeys(raw))


def _id_list(body: Mapping[str, Any], name: str) -> list[int]:
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(_integral(v) for v in raw):
        msg = f"{name} must be a list of integer ids"
        raise SubscriptionError(msg)
    return sorted({int(v) for v in raw})


def _integral(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


class Subscriptions:
    """Every subscription and filter of the app, by id."""

    def __init__(self) -> None:
        self.by_id: dict[int, Subscription] = {}
        self.filters: dict[int, Filter] = {}
        self._next_id = FIRST_SUBSCRIPTION_ID
        self._next_filter = FIRST_FILTER_ID

    def for_portal(self, portal_id: int) -> list[Subscription]:
        """The subscriptions of one portal, oldest first."""
        return [s for s in self.by_id.values() if s.portal_id == portal_id]

    def upsert(self, body: Any, app_id: int, now_ms: int) -> Subscription:
        """Create a subscription, or update the one with the same type, portal and object
        type (EMULATOR CHOICE, see the module docstring); refuse a malformed request."""
        if not isinstance(body, dict):
            msg = "send a JSON object: a SubscriptionUpsertRequest"
            raise SubscriptionError(msg)
        kind = body.get("subscriptionType")
        if kind in NOT_EMULATED_TYPES:
            msg = (
                f"subscriptionType {kind} is not emulated; "
                "use OBJECT, ASSOCIATION or GDPR_PRIVACY_DELETION"
            )
            raise SubscriptionError(msg)
        if kind not in VALID_ACTIONS:
            msg = f"subscriptionType must be one of {', '.join(VALID_ACTIONS)}, got {kind!r}"
            raise SubscriptionError(msg)
        if not _integral(body.get("portalId")):
            msg = "portalId must be the integer id of a portal that installed the app"
            raise SubscriptionError(msg)
        portal = int(body["portalId"])
        object_type_id = body.get("objectTypeId")
        if object_type_id not in VALID_OBJECT_TYPES[kind]:
            valid = ", ".join(VALID_OBJECT_TYPES[kind])
            msg = f"objectTypeId for {kind} must be one of {valid}, got {object_type_id!r}"
            raise SubscriptionError(msg)
        actions = _string_list(body, "actions")
        wrong = [a for a in actions if a not in VALID_ACTIONS[kind]]
        if not actions or wrong:
            valid = ", ".join(VALID_ACTIONS[kind])
            msg = f"actions for {kind} must be a non-empty list of {valid}"
            raise SubscriptionError(msg)
        associated = _string_list(body, "associatedObjectTypeIds")
        if kind == "ASSOCIATION":
            other = COMPANY if object_type_id == CONTACT else CONTACT
            if any(t != other for t in associated):
                msg = f"associatedObjectTypeIds for {object_type_id} can only hold {other} here"
                raise SubscriptionError(msg)
        fields = {
            "actions": actions,
            "object_ids": _id_list(body, "objectIds"),
            "properties": _string_list(body, "properties") if kind == "OBJECT" else [],
            "associated_object_type_ids": associated,
        }
        for existing in self.by_id.values():
            if (existing.subscription_type, existing.portal_id, existing.object_type_id) == (
                kind,
                portal,
                object_type_id,
            ):
                if any(getattr(existing, k) != v for k, v in fields.items()):
                    for name, value in fields.items():
                        setattr(existing, name, value)
                    existing.updated_ms = now_ms
                return existing
        subscription = Subscription(
            id=self._next_id,
            app_id=app_id,
            subscription_type=kind,
            portal_id=portal,
            object_type_id=str(object_type_id),
            created_ms=now_ms,
            updated_ms=now_ms,
            **fields,  # type: ignore[arg-type]
        )
        self._next_id += 1
        self.by_id[subscription.id] = subscription
        return subscription

    def get(self, subscription_id: int) -> Subscription:
        """One subscription, or a 404."""
        subscription = self.by_id.get(subscription_id)
        if subscription is None:
            msg = f"No subscription with id {subscription_id} exists for this app."
            raise SubscriptionError(msg, status=404)
        return subscription

    def delete(self, subscription_id: int) -> None:
        """Remove a subscription and its filters, or a 404."""
        subscription = self.get(subscription_id)
        for filter_id in subscription.filters:
            self.filters.pop(filter_id, None)
        del self.by_id[subscription_id]

    def delete_portal(self, portal_id: int) -> int:
        """Remove every subscription of a portal; returns how many."""
        doomed = [s.id for s in self.for_portal(portal_id)]
        for subscription_id in doomed:
            self.delete(subscription_id)
        return len(doomed)

    def add_filter(self, body: Any, now_ms: int) -> Filter:
        """`FilterCreateRequest` -> a new filter on an existing subscription."""
        if not isinstance(body, dict) or not _integral(body.get("subscriptionId")):
            msg = 'send {"subscriptionId": <id>, "filter": {"conditions": [...]}}'
            raise SubscriptionError(msg)
        subscription = self.get(int(body["subscriptionId"]))
        raw = body.get("filter")
        conditions = raw.get("conditions") if isinstance(raw, dict) else None
        if not isinstance(conditions, list) or not conditions:
            msg = "filter.conditions must be a non-empty list of conditions"
            raise SubscriptionError(msg)
        parsed = [_condition(c) for c in conditions]
        created = Filter(self._next_filter, subscription.id, parsed, now_ms)
        self._next_filter += 1
        self.filters[created.id] = created
        subscription.filters[created.id] = created
        return created

    def get_filter(self, filter_id: int) -> Filter:
        """One filter, or a 404."""
        found = self.filters.get(filter_id)
        if found is None:
            msg = f"No filter with id {filter_id} exists for this app."
            raise SubscriptionError(msg, status=404)
        return found

    def delete_filter(self, filter_id: int) -> None:
        """Remove a filter, or a 404."""
        found = self.get_filter(filter_id)
        del self.filters[filter_id]
        self.by_id[found.subscription_id].filters.pop(filter_id, None)


def _condition(raw: Any) -> Condition:
    if not isinstance(raw, dict):
        msg = "each condition must be an object"
        raise SubscriptionError(msg)
    if raw.get("filterType", "CRM_OBJECT_PROPERTY") != "CRM_OBJECT_PROPERTY":
        msg = "filterType must be CRM_OBJECT_PROPERTY"
        raise SubscriptionError(msg)
    prop, op = raw.get("property"), raw.get("operator")
    if not isinstance(prop, str) or not prop or op not in OPERATORS:
        msg = f"a condition needs a property and an operator among {', '.join(OPERATORS)}"
        raise SubscriptionError(msg)
    values = raw.get("values") or []
    if op in ("IN", "NOT_IN") and (not isinstance(values, list) or not values):
        msg = f"{op} needs a non-empty values list"
        raise SubscriptionError(msg)
    value = raw.get("value")
    if op not in ("IN", "NOT_IN", "IS_EMPTY", "IS_NOT_EMPTY") and not isinstance(value, str):
        msg = f"{op} needs a string value"
        raise SubscriptionError(msg)
    return Condition(prop, op, value, tuple(str(v) for v in values))
