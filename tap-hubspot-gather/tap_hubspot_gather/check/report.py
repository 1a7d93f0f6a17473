"""What the check found, the problems it derives from that, and the verdict.

Kept free of I/O: the scanner fills the facts, `judge()` turns them into problems (each with
a suggested fix) and a one-line verdict, and `render` prints them for people or machines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from tap_hubspot_gather.check.declared import declaration, singular
from tap_hubspot_gather.check.idstore import Duplicates
from tap_hubspot_gather.versions import DEFAULT_API_VERSION, ApiVersion, api_version

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
# Each problem: severity, message, fix; worded with the object's facts (`str.format` fields:
# obj, model, name, setting, and those `_problem_facts` gives). In report order.
_PROBLEMS: dict[str, tuple[Severity, str, str]] = {
    "id_property_missing": (
        "error",
        "{setting} is {name!r}, but HubSpot has no {obj} property of that name, so no record "
        "can be synced.",
        "Set {setting} to the internal name of the {obj} property holding your {model} IDs "
        "(HubSpot: Settings > Properties > the property > internal name), or to {builtin}.",
    ),
    "id_property_not_unique": (
        "warning",
        "HubSpot does not enforce unique values on {name!r} (hasUniqueValue is false): two "
        "{obj} may share a value later and overwrite each other in Gather.",
        "In HubSpot, edit the property and turn on 'Require unique values for this property' "
        "(possible once the current values are unique), or use a property that has it.",
    ),
    "id_property_type": (
        "warning",
        "{name!r} is a {type} property; IDs are normally single-line text or numbers, and "
        "values of this type repeat easily.",
        "Point {setting} at a single-line text or number property holding one ID per {model}.",
    ),
    "missing_ids": (
        "error",
        "{records} of {total} {have} no {name}; the sync skips them (sample HubSpot ids: "
        "{sample}).",
        "Fill {name} on these records in HubSpot (filter the {obj} view on '{name} is "
        "unknown'), or archive the ones that should not reach Gather.",
    ),
    "duplicate_ids": (
        "error",
        "{values} of {name}{case} are shared by {records} {obj}; records sharing an ID "
        "overwrite each other in Gather.",
        "Give each {model} its own {name}, or merge the {obj} that are the same (HubSpot: "
        "Actions > Merge); the duplicates are listed above.",
    ),
    "contacts_without_company": (
        "warning",
        "{records} {have} no primary company and will sync as {model}s without an account "
        "(sample HubSpot ids: {sample}).",
        "Associate these {obj} with their company in HubSpot (as primary company), or accept "
        "that they sync unlinked.",
    ),
    "company_without_account_id": (
        "warning",
        "{records} point at a primary company without {account_property} and will sync as "
        "{model}s without an account (sample {obj}: {sample}; companies: {companies}).",
        "Fill {account_property} on those companies (see the companies without an ID above).",
    ),
}
PROBLEM_CODES = tuple(_PROBLEMS)
# Problems of the settings rather than of an object's records, reported under this name.
API = "api"
API_VERSION_UNSUPPORTED = "api_version_unsupported"
SETTINGS_PROBLEM_CODES = (API_VERSION_UNSUPPORTED,)
# Each identity case: what the default mode (keep) and the opt-in one (mirror) do; worded as
# the problems are (fields from `_identity_facts`). In report order.
_IDENTITY_CASES: dict[str, tuple[str, str]] = {
    "shared_ids": (
        "the {records} {obj} sharing {id_values} become {models}: each sync writes whichever "
        "changed last over it; nothing is deleted",
        "the same, and a shared {model} is never deleted while one live HubSpot record still "
        "holds its ID (archiving or merging away the others deletes nothing)",
    ),
    "no_id": (
        "{records} without an ID are skipped and reported on every run until the ID is filled",
        "skipped the same way; if a synced record's ID is cleared later, its old {model} is "
        "deleted",
    ),
    "archived": (
        "the {model}s of {records} archived in HubSpot stay in Gather and are reported as left "
        "behind",
        "their {model}s are deleted (HubSpot keeps archived records 90 days; later, the "
        "reconciliation pass finds them)",
    ),
    "archived_id_held_by_live_record": (
        "{records} archived in HubSpot share their ID with a live record (sample HubSpot ids: "
        "{sample}): the live record keeps the {model} current",
        "that {model} is not deleted: a live HubSpot record still holds its ID",
    ),
    "uniqueness_not_enforced": (
        "a value given to a second record later makes both one {model}; an ID edited later "
        "leaves the old {model} in Gather, reported",
        "an ID edited or cleared later deletes the old {model}, unless another live record "
        "holds that ID",
    ),
    "no_primary_company": (
        "{records} without a primary company sync as {model}s without account_id (a link they "
        "had is cleared)",
        "the same: links follow HubSpot in both modes",
    ),
    "company_without_account_id": (
        "{records} whose company has no {account_property} sync as {model}s without "
        "account_id; once the company gets one, the next run links them",
        "the same: links follow HubSpot in both modes",
    ),
}
IDENTITY_CASE_CODES = tuple(_IDENTITY_CASES)
# What one situation found says: its code, its count and the words it fills in.
Facts = tuple[str, int, dict[str, str]]


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
    api_version: ApiVersion = field(default_factory=lambda: api_version(None))
    # The day the version's support is judged on (UTC).
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date())

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


def _problem_facts(check: ObjectCheck) -> Iterator[Facts]:
    """The problems found for one object, in report order."""
    prop = check.id_property
    obj = check.object_type
    if not prop.exists:
        yield "id_property_missing", 0, {"builtin": " or ".join(declaration(obj).builtin_ids)}
    else:
        if prop.uniqueness == "not_enforced":
            yield "id_property_not_unique", 0, {}
        if prop.type is not None and prop.type not in ID_FRIENDLY_TYPES:
            yield "id_property_type", 0, {"type": prop.type}
    if check.missing_id:
        yield "missing_ids", check.missing_id, _missing(check)
    dups = check.duplicates
    if dups is not None and dups.values:
        case = " (compared case-insensitively)" if prop.name == "email" else ""
        yield "duplicate_ids", dups.values, {**_shared(check, dups), "case": case}
    yield from _link_facts(check, "contacts_without_company")


def _identity_facts(check: ObjectCheck) -> Iterator[Facts]:
    """The identity situations found for one object, in report order."""
    dups = check.duplicates
    if dups is not None and dups.values:
        yield "shared_ids", dups.records, _shared(check, dups)
    if check.missing_id:
        yield "no_id", check.missing_id, _missing(check)
    if check.archived:
        yield "archived", check.archived, {"records": _n(check.archived, check.object_type)}
    if check.archived_held_by_live:
        count = check.archived_held_by_live
        held = {
            "records": _n(count, check.object_type),
            "sample": ", ".join(check.archived_held_sample),
        }
        yield "archived_id_held_by_live_record", count, held
    if check.id_property.uniqueness == "not_enforced":
        yield "uniqueness_not_enforced", 0, {}
    yield from _link_facts(check, "no_primary_company")


def _link_facts(check: ObjectCheck, without_company_code: str) -> Iterator[Facts]:
    """Records that would sync without an account: no primary company (its code differs
    between problems and identity cases), or a company without an account ID."""
    links = check.links
    if links is None:
        return
    if links.without_company:
        words = {
            "records": _n(links.without_company, check.object_type),
            "have": _have(links.without_company),
            "sample": ", ".join(links.without_company_sample),
        }
        yield without_company_code, links.without_company, words
    count = links.company_without_account_id
    if count:
        words = {
            "records": _n(count, check.object_type),
            "account_property": links.account_id_property,
            "sample": ", ".join(links.company_without_account_id_sample),
            "companies": ", ".join(links.companies_without_account_id_sample),
        }
        yield "company_without_account_id", count, words


def _missing(check: ObjectCheck) -> dict[str, str]:
    return {
        "records": _n(check.missing_id, check.object_type),
        "total": f"{check.total:,}",
        "have": _have(check.missing_id),
        "sample": ", ".join(check.missing_sample),
    }


def _shared(check: ObjectCheck, dups: Duplicates) -> dict[str, str]:
    return {
        "records": f"{dups.records:,}",
        "values": _n(dups.values, "value"),
        "id_values": _n(dups.values, "ID value"),
        "models": _n(dups.values, check.gather_model),
    }


def _words(check: ObjectCheck) -> dict[str, str]:
    """The fields every problem and identity case may use."""
    prop = check.id_property
    return {
        "obj": check.object_type,
        "model": check.gather_model,
        "name": prop.name,
        "setting": prop.setting,
    }


def problems(check: ObjectCheck) -> list[Problem]:
    """Every problem found for one object, with its fix."""
    found: list[Problem] = []
    for code, count, facts in _problem_facts(check):
        severity, message, fix = _PROBLEMS[code]
        words = {**_words(check), **facts}
        text, how = message.format(**words), fix.format(**words)
        found.append(Problem(check.object_type, code, severity, text, how, count))
    return found


def identity_cases(check: ObjectCheck) -> list[IdentityCase]:
    """What the sync modes do with the identity situations found for one object."""
    found: list[IdentityCase] = []
    for code, count, facts in _identity_facts(check):
        keep, mirror = _IDENTITY_CASES[code]
        words = {**_words(check), **facts}
        found.append(
            IdentityCase(
                check.object_type, code, count, keep.format(**words), mirror.format(**words)
            )
        )
    return found


def version_problems(version: ApiVersion, today: dt.date) -> list[Problem]:
    """A warning when `api_version` is past HubSpot's Supported window (no fixes any more;
    "developers should not expect ongoing stability",
    https://developers.hubspot.com/docs/developer-tooling/platform/versioning)."""
    if version.is_supported(today):
        return []
    released = f"released {version.released}, " if version.released else ""
    return [
        Problem(
            API,
            API_VERSION_UNSUPPORTED,
            "warning",
            f"api_version {version.name} is past HubSpot's Supported window ({released}"
            f"supported until {version.supported_until}): HubSpot no longer fixes it and it "
            "may stop working.",
            f"Set api_version to {DEFAULT_API_VERSION}, the version this tap calls by default "
            "(meltano config tap-hubspot-gather set api_version "
            f"{DEFAULT_API_VERSION}).",
        )
    ]


def judge(report: CheckReport) -> CheckReport:
    """Derive the problems, readiness and the one-line verdict from the facts."""
    found: list[Problem] = version_problems(report.api_version, report.today)
    cases: list[IdentityCase] = []
    for check in report.objects:
        found += problems(check)
        cases += identity_cases(check)
    report.problems = found
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
