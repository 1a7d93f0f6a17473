"""What the check found, the problems it derives from that, and the verdict.

Kept free of I/O: the scanner fills the facts, `judge()` turns them into problems (each with
a suggested fix) and a one-line verdict, and `render` prints them for people or machines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from tap_hubspot_gather.check.declared import declaration, singular
from tap_hubspot_gather.check.idstore import Duplicates

if TYPE_CHECKING:
    from tap_hubspot_gather.check.suggest import Suggestion

Severity = Literal["error", "warning"]
# How uniqueness of the ID is guaranteed:
# hubspot_id: the record's own HubSpot id (companyId / vid), unique by construction;
# enforced: the property has `hasUniqueValue` (HubSpot refuses a second record per value);
# email: HubSpot deduplicates contacts by email but does not mark the property unique;
# not_enforced: nothing stops two records sharing a value; unknown: the property is missing.
Uniqueness = Literal["hubspot_id", "enforced", "email", "not_enforced", "unknown"]
# Property types that make sensible IDs (https://developers.hubspot.com/docs/api/crm/properties).
ID_FRIENDLY_TYPES = frozenset({"string", "number"})
# Every problem code, in report order (the JSON schema lists them).
PROBLEM_CODES = (
    "id_property_missing",
    "id_property_not_unique",
    "id_property_type",
    "missing_ids",
    "duplicate_ids",
    "contacts_without_company",
    "company_without_account_id",
)
# Every identity case code, in report order (the JSON schema lists them).
IDENTITY_CASE_CODES = (
    "shared_ids",
    "no_id",
    "archived",
    "archived_id_held_by_live_record",
    "uniqueness_not_enforced",
    "no_primary_company",
    "company_without_account_id",
)


@dataclass
class PropertyCheck:
    """The configured ID property as HubSpot defines it."""

    setting: str
    name: str
    exists: bool
    type: str | None
    has_unique_value: bool | None
    uniqueness: Uniqueness


@dataclass
class LinkCheck:
    """How contacts link to accounts (users that would sync unlinked)."""

    account_id_property: str
    without_company: int = 0
    without_company_sample: list[str] = field(default_factory=list)
    # None: not checkable (the account ID property does not exist).
    company_without_account_id: int | None = 0
    company_without_account_id_sample: list[str] = field(default_factory=list)
    companies_without_account_id_sample: list[str] = field(default_factory=list)


@dataclass
class ObjectCheck:
    """Everything found for one object type."""

    object_type: str
    id_property: PropertyCheck
    total: int = 0
    with_id: int = 0
    missing_id: int = 0
    missing_sample: list[str] = field(default_factory=list)
    scanned: bool = False  # False: counted by search only (HubSpot's own id is the ID)
    duplicates: Duplicates | None = None  # None: not looked for (see `duplicates_note`)
    duplicates_note: str = ""
    links: LinkCheck | None = None  # objects linking to accounts only (contacts)
    # Archived records (None: not listed, e.g. HubSpot's own id is the ID), how many share
    # their ID with a live record, and a sample of those.
    archived: int | None = None
    archived_held_by_live: int = 0
    archived_held_sample: list[str] = field(default_factory=list)

    @property
    def gather_model(self) -> str:
        """The Gather model these records become."""
        return declaration(self.object_type).gather_noun


@dataclass
class Problem:
    """One thing standing between the portal and a correct sync, and how to fix it."""

    object_type: str
    code: str
    severity: Severity
    message: str
    fix: str
    count: int = 0


@dataclass
class IdentityCase:
    """An identity situation the check can see before a sync, and what each sync mode does."""

    object_type: str
    code: str
    count: int
    keep: str  # the default mode: never deletes in Gather, reports what is left behind
    mirror: str  # opt-in: deletes what HubSpot no longer has, never a key a live record holds


@dataclass
class CheckReport:
    """The whole answer: facts per object type, problems, verdict."""

    api_url: str
    objects: list[ObjectCheck]
    problems: list[Problem] = field(default_factory=list)
    ready: bool = False
    verdict: str = ""
    strict: bool = False
    requests: int = 0
    elapsed_s: float = 0.0
    identity_cases: list[IdentityCase] = field(default_factory=list)
    suggestions: list[Suggestion] | None = None  # None: --suggest not asked

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the portal not ready."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems the sync survives (they fail the check only with --strict)."""
        return [p for p in self.problems if p.severity == "warning"]


def _n(count: int, noun: str) -> str:
    """`1 value`, `2 values`, `1 company`, `3 companies`."""
    one = singular(noun)
    if one is not None:
        return f"{count:,} {one if count == 1 else noun}"
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def property_problems(check: ObjectCheck) -> list[Problem]:
    """Problems with the ID property's definition."""
    prop = check.id_property
    obj = check.object_type
    if not prop.exists:
        builtin = " or ".join(declaration(obj).builtin_ids)
        return [
            Problem(
                obj,
                "id_property_missing",
                "error",
                f"{prop.setting} is {prop.name!r}, but HubSpot has no {obj} property of that "
                "name, so no record can be synced.",
                f"Set {prop.setting} to the internal name of the {obj} property holding your "
                f"{check.gather_model} IDs (HubSpot: Settings > Properties > the property > "
                f"internal name), or to {builtin}.",
            )
        ]
    found: list[Problem] = []
    if prop.uniqueness == "not_enforced":
        found.append(
            Problem(
                obj,
                "id_property_not_unique",
                "warning",
                f"HubSpot does not enforce unique values on {prop.name!r} (hasUniqueValue is "
                f"false): two {obj} may share a value later and overwrite each other in Gather.",
                "In HubSpot, edit the property and turn on 'Require unique values for this "
                "property' (possible once the current values are unique), or use a property "
                "that has it.",
            )
        )
    if prop.type is not None and prop.type not in ID_FRIENDLY_TYPES:
        found.append(
            Problem(
                obj,
                "id_property_type",
                "warning",
                f"{prop.name!r} is a {prop.type} property; IDs are normally single-line text "
                "or numbers, and values of this type repeat easily.",
                f"Point {prop.setting} at a single-line text or number property holding one "
                f"ID per {check.gather_model}.",
            )
        )
    return found


def value_problems(check: ObjectCheck) -> list[Problem]:
    """Problems found in the records' values."""
    obj = check.object_type
    name = check.id_property.name
    found: list[Problem] = []
    if check.missing_id:
        found.append(
            Problem(
                obj,
                "missing_ids",
                "error",
                f"{_n(check.missing_id, obj)} of {check.total:,} {_have(check.missing_id)} "
                f"no {name}; the sync skips them (sample HubSpot ids: "
                f"{', '.join(check.missing_sample)}).",
                f"Fill {name} on these records in HubSpot (filter the {obj} view on "
                f"'{name} is unknown'), or archive the ones that should not reach Gather.",
                check.missing_id,
            )
        )
    dups = check.duplicates
    if dups is not None and dups.values:
        case = " (compared case-insensitively)" if name == "email" else ""
        found.append(
            Problem(
                obj,
                "duplicate_ids",
                "error",
                f"{_n(dups.values, 'value')} of {name}{case} are shared by {dups.records:,} "
                f"{obj}; records sharing an ID overwrite each other in Gather.",
                f"Give each {check.gather_model} its own {name}, or merge the {obj} that are "
                "the same (HubSpot: Actions > Merge); the duplicates are listed above.",
                dups.values,
            )
        )
    return found


def link_problems(check: ObjectCheck) -> list[Problem]:
    """Records (contacts) that would become Gather records (users) without an account."""
    links = check.links
    if links is None:
        return []
    obj = check.object_type
    model = check.gather_model
    found: list[Problem] = []
    if links.without_company:
        found.append(
            Problem(
                obj,
                "contacts_without_company",
                "warning",
                f"{_n(links.without_company, obj)} {_have(links.without_company)} "
                f"no primary company and will sync as {model}s without an account (sample "
                "HubSpot ids: "
                f"{', '.join(links.without_company_sample)}).",
                f"Associate these {obj} with their company in HubSpot (as primary company), "
                "or accept that they sync unlinked.",
                links.without_company,
            )
        )
    if links.company_without_account_id:
        found.append(
            Problem(
                obj,
                "company_without_account_id",
                "warning",
                f"{_n(links.company_without_account_id, obj)} point at a primary "
                f"company without {links.account_id_property} and will sync as {model}s without "
                f"an account (sample {obj}: {', '.join(links.company_without_account_id_sample)}"
                f"; companies: {', '.join(links.companies_without_account_id_sample)}).",
                f"Fill {links.account_id_property} on those companies (see the companies "
                "without an ID above).",
                links.company_without_account_id,
            )
        )
    return found


def identity_cases(check: ObjectCheck) -> list[IdentityCase]:
    """What the sync modes do with the identity situations found for `check`'s records."""
    model = check.gather_model
    obj = check.object_type
    found: list[IdentityCase] = []
    dups = check.duplicates
    if dups is not None and dups.values:
        found.append(
            IdentityCase(
                obj,
                "shared_ids",
                dups.records,
                f"the {dups.records:,} {obj} sharing {_n(dups.values, 'ID value')} become "
                f"{_n(dups.values, model)}: each sync writes whichever changed last over it; "
                "nothing is deleted",
                f"the same, and a shared {model} is never deleted while one live HubSpot record "
                "still holds its ID (archiving or merging away the others deletes nothing)",
            )
        )
    if check.missing_id:
        found.append(
            IdentityCase(
                obj,
                "no_id",
                check.missing_id,
                f"{_n(check.missing_id, obj)} without an ID are skipped and reported on every "
                "run until the ID is filled",
                f"skipped the same way; if a synced record's ID is cleared later, its old {model} "
                "is deleted",
            )
        )
    if check.archived:
        found.append(
            IdentityCase(
                obj,
                "archived",
                check.archived,
                f"the {model}s of {_n(check.archived, obj)} archived in HubSpot stay in Gather "
                "and are reported as left behind",
                f"their {model}s are deleted (HubSpot keeps archived records 90 days; later, "
                "the reconciliation pass finds them)",
            )
        )
    if check.archived_held_by_live:
        found.append(
            IdentityCase(
                obj,
                "archived_id_held_by_live_record",
                check.archived_held_by_live,
                f"{_n(check.archived_held_by_live, obj)} archived in HubSpot share their ID with "
                f"a live record (sample HubSpot ids: {', '.join(check.archived_held_sample)}): "
                f"the live record keeps the {model} current",
                f"that {model} is not deleted: a live HubSpot record still holds its ID",
            )
        )
    if check.id_property.uniqueness == "not_enforced":
        found.append(
            IdentityCase(
                obj,
                "uniqueness_not_enforced",
                0,
                f"a value given to a second record later makes both one {model}; an ID edited "
                f"later leaves the old {model} in Gather, reported",
                f"an ID edited or cleared later deletes the old {model}, unless another live "
                "record holds that ID",
            )
        )
    links = check.links
    if links is not None:
        if links.without_company:
            found.append(
                IdentityCase(
                    obj,
                    "no_primary_company",
                    links.without_company,
                    f"{_n(links.without_company, obj)} without a primary company sync as "
                    f"{model}s without account_id (a link they had is cleared)",
                    "the same: links follow HubSpot in both modes",
                )
            )
        if links.company_without_account_id:
            found.append(
                IdentityCase(
                    obj,
                    "company_without_account_id",
                    links.company_without_account_id,
                    f"{_n(links.company_without_account_id, obj)} whose company has no "
                    f"{links.account_id_property} sync as {model}s without account_id; once the "
                    "company gets one, the next run links them",
                    "the same: links follow HubSpot in both modes",
                )
            )
    return found


def judge(report: CheckReport) -> CheckReport:
    """Derive the problems, readiness and the one-line verdict from the facts."""
    problems: list[Problem] = []
    cases: list[IdentityCase] = []
    for check in report.objects:
        problems += property_problems(check)
        problems += value_problems(check)
        problems += link_problems(check)
        cases += identity_cases(check)
    report.problems = problems
    report.identity_cases = cases
    errors, warnings = report.errors, report.warnings
    report.ready = not errors and not (report.strict and warnings)
    counts = ", ".join(f"{c.object_type}: {c.total:,}" for c in report.objects)
    if report.ready:
        tail = f"; {_n(len(warnings), 'warning')}" if warnings else ""
        report.verdict = f"READY: every record has a unique ID ({counts}){tail}."
    else:
        blocking = errors or warnings
        what = "; ".join(f"{p.object_type} {p.code.replace('_', ' ')}" for p in blocking)
        strict = " (--strict: warnings count)" if not errors else ""
        report.verdict = (
            f"NOT READY: {_n(len(errors), 'error')}, {_n(len(warnings), 'warning')}"
            f"{strict}: {what}."
        )
    return report
