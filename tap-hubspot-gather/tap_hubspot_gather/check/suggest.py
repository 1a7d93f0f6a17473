"""`--suggest`: which property should be the Gather ID, per object (the product page's step 2).

Candidates come from HubSpot's property definitions (`GET /crm/properties/{version}/{objectType}`):
every property with `hasUniqueValue`, every custom (not HubSpot-defined, not calculated) text
or number property whose name reads like an ID (`..._id`, `uuid`, `ref`, `key`, `code`), the
configured ID property, and HubSpot's built-ins (`companyId`; `vid` and `email`). Their values
are read in the check's one scan and spilled to the on-disk `IdStore`, so memory stays flat;
coverage and shared values are counted there (emails case-insensitively, as the sync keys them).

The ranking prefers, in order: a property of yours that is unique and at least
`MIN_COVERAGE` filled (it is what your other tools know, and it does not change like an email);
`email` on the same terms; a unique property of yours filled on at least `MIN_USABLE_COVERAGE`
of the records (the others are skipped until filled: the reason says how many); HubSpot's own
id (always filled and unique, but your other tools must know HubSpot's ids); anything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tap_hubspot_gather.check.declared import EMAIL
from tap_hubspot_gather.check.idstore import IdStore
from tap_hubspot_gather.check.report import ID_FRIENDLY_TYPES
from tap_hubspot_gather.objects import CrmObject
from tap_hubspot_gather.properties import PropertyDef

CandidateKind = Literal["property", "email", "hubspot_id"]
# HubSpot's property holding the record id itself: the built-in, under another name.
OBJECT_ID_PROPERTY = "hs_object_id"
# Share of records a property must fill to rank first (over email and the built-in id) ...
MIN_COVERAGE = 0.95
# ... and to rank above the built-in id at all (the rest are skipped until filled).
MIN_USABLE_COVERAGE = 0.5
# Properties scanned per object at most (unique-enforced ones first): bounds the scan's width.
MAX_PROPERTY_CANDIDATES = 10
ID_LIKE_NAME = re.compile(r"(^|_)(id|uuid|guid|key|ref|code)(_|$)|id$", re.IGNORECASE)
_BUILTIN_CAVEAT = "needs your other tools to know HubSpot's {noun} ids"


@dataclass
class Candidate:
    """One property that could be the ID, with what the scan found."""

    name: str
    kind: CandidateKind
    type: str | None = None
    has_unique_value: bool = False
    total: int = 0
    filled: int = 0
    duplicate_values: int = 0
    duplicate_records: int = 0
    reason: str = ""

    @property
    def coverage(self) -> float:
        """Share of records holding a usable value."""
        return self.filled / self.total if self.total else 0.0

    @property
    def unique(self) -> bool:
        """No value is held by two records."""
        return self.duplicate_values == 0


@dataclass
class Suggestion:
    """The ranked candidates for one object and the recommended one."""

    object_type: str
    setting: str
    candidates: list[Candidate] = field(default_factory=list)
    recommended: str = ""
    reason: str = ""


def candidate_properties(
    obj: CrmObject, definitions: Sequence[PropertyDef], configured: str
) -> list[Candidate]:
    """The properties worth scanning for `obj` (built-ins are added by `rank`; `email` is
    scanned where it is one of the object's built-in ids)."""
    found: list[Candidate] = []
    for definition in definitions:
        name, kind = definition.name, definition.type
        if not name or name in (OBJECT_ID_PROPERTY, EMAIL):
            continue
        unique = definition.has_unique_value
        custom = not definition.hubspot_defined and not definition.calculated
        id_like = custom and kind in ID_FRIENDLY_TYPES and ID_LIKE_NAME.search(name) is not None
        if unique or id_like or name == configured:
            found.append(Candidate(name, "property", kind, unique))
    found.sort(key=lambda c: (not c.has_unique_value, c.name != configured, c.name))
    scanned = found[:MAX_PROPERTY_CANDIDATES]
    if EMAIL in obj.builtin_ids:
        email = next((d for d in definitions if d.name == EMAIL), None)
        scanned.append(
            Candidate(EMAIL, "email", "string", email is not None and email.has_unique_value)
        )
    return scanned


def rank(obj: CrmObject, candidates: Sequence[Candidate], store: IdStore, total: int) -> Suggestion:
    """Fill each candidate's figures from the store, rank them, recommend one, say why."""
    object_type = obj.object_type
    builtin = Candidate(obj.hubspot_id_field, "hubspot_id", None, True, total, total)
    ranked = [builtin]
    for candidate in candidates:
        stats = store.candidate_stats(object_type, candidate.name)
        candidate.total = total
        candidate.filled = stats.filled
        candidate.duplicate_values = stats.duplicate_values
        candidate.duplicate_records = stats.duplicate_records
        ranked.append(candidate)
    for candidate in ranked:
        candidate.reason = _reason(obj, candidate)
    ranked.sort(key=_rank_key)
    best = ranked[0]
    suggestion = Suggestion(object_type, obj.id_setting, ranked, best.name)
    caveat = _BUILTIN_CAVEAT.format(noun=obj.noun)
    if best.kind == "hubspot_id":
        near = next((c for c in ranked if c.kind != "hubspot_id"), None)
        why = f"{best.reason}; no property of yours is unique and {MIN_USABLE_COVERAGE:.0%} filled"
        if near is not None:
            why += f" (closest: {near.reason})"
        suggestion.reason = why
    else:
        suggestion.reason = f"{best.reason}; {builtin.name} {caveat}"
    return suggestion


def _rank_key(candidate: Candidate) -> tuple[int, float, bool, str]:
    unique = candidate.unique and candidate.total > 0
    good = unique and candidate.coverage >= MIN_COVERAGE
    usable = unique and candidate.coverage >= MIN_USABLE_COVERAGE
    if candidate.kind == "property" and good:
        tier = 0
    elif candidate.kind == "email" and good:
        tier = 1
    elif candidate.kind == "property" and usable:
        tier = 2
    elif candidate.kind == "hubspot_id":
        tier = 3
    else:
        tier = 4
    return (tier, -candidate.coverage, not candidate.has_unique_value, candidate.name)


def _reason(obj: CrmObject, candidate: Candidate) -> str:
    name = candidate.name
    object_type = obj.object_type
    if candidate.kind == "hubspot_id":
        return f"{name}: HubSpot's own {obj.noun} id, always filled and unique"
    if candidate.total == 0:
        return f"{name}: no {object_type} to judge by"
    filled = f"{candidate.coverage:.1%} filled"
    missing = candidate.total - candidate.filled
    if missing:
        filled += f" ({missing:,} without one are skipped until filled)"
    if candidate.unique:
        how = "unique case-insensitively" if candidate.kind == EMAIL else "unique"
    else:
        how = (
            f"{candidate.duplicate_values:,} values shared by "
            f"{candidate.duplicate_records:,} {object_type}"
        )
    enforced = ", HubSpot enforces unique values" if candidate.has_unique_value else ""
    extra = (
        f"; every tool must know {obj.gather_noun}s by the same email"
        if candidate.kind == EMAIL
        else ""
    )
    return f"{name}: {how}, {filled}{enforced}{extra}"
