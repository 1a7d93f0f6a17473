"""The report for people (text) and for machines (`--format json`, schema below)."""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

from tap_hubspot_gather.check.declared import checked_objects
from tap_hubspot_gather.check.report import (
    API,
    IDENTITY_CASE_CODES,
    PROBLEM_CODES,
    SETTINGS_PROBLEM_CODES,
    CheckReport,
    ObjectCheck,
    Uniqueness,
)
from tap_hubspot_gather.check.suggest import CandidateKind

JSON_SCHEMA_VERSION = 1
# Values longer than this are cut in the text report (the JSON report keeps them whole).
MAX_SHOWN_VALUE = 80

_UNIQUENESS_TEXT = {
    "hubspot_id": "HubSpot's own record id: unique by construction",
    "enforced": "unique values enforced by HubSpot (hasUniqueValue)",
    "email": "not marked unique (hasUniqueValue false); HubSpot deduplicates contacts by email",
    "not_enforced": "NOT unique in HubSpot (hasUniqueValue false)",
    "unknown": "unknown",
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_ID_PROPERTY = {
    "type": "object",
    "required": ["setting", "name", "exists", "type", "has_unique_value", "uniqueness"],
    "properties": {
        "setting": {"type": "string"},
        "name": {"type": "string"},
        "exists": {"type": "boolean"},
        "type": {"type": ["string", "null"]},
        "has_unique_value": {"type": ["boolean", "null"]},
        "uniqueness": {"enum": list(get_args(Uniqueness))},
    },
}
_RECORDS = {
    "type": "object",
    "required": ["total", "with_id", "missing_id", "missing_sample", "scanned"],
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "with_id": {"type": "integer", "minimum": 0},
        "missing_id": {"type": "integer", "minimum": 0},
        "missing_sample": _STRINGS,
        "scanned": {"type": "boolean"},
    },
}
_DUPLICATES = {
    "type": ["object", "null"],
    "required": ["values", "records", "groups"],
    "properties": {
        "values": {"type": "integer", "minimum": 0},
        "records": {"type": "integer", "minimum": 0},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["value", "count", "hubspot_ids", "raw_values"],
                "properties": {
                    "value": {"type": "string"},
                    "count": {"type": "integer", "minimum": 2},
                    "hubspot_ids": _STRINGS,
                    "raw_values": {"type": "array", "items": {"type": ["string", "null"]}},
                },
            },
        },
    },
}
_LINKS = {
    "type": ["object", "null"],
    "required": [
        "account_id_property",
        "without_company",
        "without_company_sample",
        "company_without_account_id",
        "company_without_account_id_sample",
        "companies_without_account_id_sample",
    ],
}
_API_VERSION = {
    "type": "object",
    "required": ["name", "supported_until", "supported"],
    "properties": {
        "name": {"type": "string"},
        "supported_until": {"type": "string", "format": "date"},
        "supported": {"type": "boolean"},
    },
}
_CANDIDATE = {
    "type": "object",
    "required": [
        "name",
        "kind",
        "type",
        "has_unique_value",
        "total",
        "filled",
        "coverage",
        "duplicate_values",
        "duplicate_records",
        "reason",
    ],
    "properties": {
        "name": {"type": "string"},
        "kind": {"enum": list(get_args(CandidateKind))},
        "type": {"type": ["string", "null"]},
        "has_unique_value": {"type": "boolean"},
        "total": {"type": "integer", "minimum": 0},
        "filled": {"type": "integer", "minimum": 0},
        "coverage": {"type": "number", "minimum": 0, "maximum": 1},
        "duplicate_values": {"type": "integer", "minimum": 0},
        "duplicate_records": {"type": "integer", "minimum": 0},
        "reason": {"type": "string"},
    },
}


def _per_object(item: dict[str, Any], object_types: list[str]) -> dict[str, Any]:
    """An object keyed by every checked object type, each holding `item`."""
    return {
        "type": "object",
        "required": object_types,
        "properties": dict.fromkeys(object_types, item),
    }


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of `--format json` output (also printed by `--json-schema`); the object
    types, Gather models and settings come from the declared objects."""
    objects = checked_objects()
    types = [o.object_type for o in objects]
    obj = {
        "type": "object",
        "required": ["gather_model", "id_property", "records", "duplicates", "links"],
        "properties": {
            "gather_model": {"enum": list(dict.fromkeys(o.gather_noun for o in objects))},
            "id_property": _ID_PROPERTY,
            "records": _RECORDS,
            "duplicates": _DUPLICATES,
            "duplicates_note": {"type": "string"},
            "links": _LINKS,
        },
    }
    problem = {
        "type": "object",
        "required": ["object", "code", "severity", "message", "fix", "count"],
        "properties": {
            "object": {"enum": [*types, API]},
            "code": {"enum": [*PROBLEM_CODES, *SETTINGS_PROBLEM_CODES]},
            "severity": {"enum": ["error", "warning"]},
            "message": {"type": "string"},
            "fix": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
        },
    }
    identity_case = {
        "type": "object",
        "required": ["object", "code", "count", "keep", "mirror"],
        "properties": {
            "object": {"enum": types},
            "code": {"enum": list(IDENTITY_CASE_CODES)},
            "count": {"type": "integer", "minimum": 0},
            "keep": {"type": "string"},
            "mirror": {"type": "string"},
        },
    }
    suggestion = {
        "type": "object",
        "required": ["setting", "recommended", "reason", "candidates"],
        "properties": {
            "setting": {"enum": [o.id_setting for o in objects]},
            "recommended": {"type": "string"},
            "reason": {"type": "string"},
            "candidates": {"type": "array", "items": _CANDIDATE},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tap-hubspot-gather check report",
        "type": "object",
        "required": [
            "schema_version",
            "ready",
            "verdict",
            "exit_code",
            "strict",
            "api_url",
            "api_version",
            "objects",
            "problems",
            "requests",
            "elapsed_s",
            "identity_cases",
            "suggestions",
        ],
        "properties": {
            "schema_version": {"const": JSON_SCHEMA_VERSION},
            "ready": {"type": "boolean"},
            "verdict": {"type": "string"},
            "exit_code": {"enum": [0, 1]},
            "strict": {"type": "boolean"},
            "api_url": {"type": "string"},
            "api_version": _API_VERSION,
            "objects": _per_object(obj, types),
            "problems": {"type": "array", "items": problem},
            "identity_cases": {"type": "array", "items": identity_case},
            "suggestions": {**_per_object(suggestion, types), "type": ["object", "null"]},
            "requests": {"type": "integer", "minimum": 0},
            "elapsed_s": {"type": "number", "minimum": 0},
        },
    }


def exit_code(report: CheckReport) -> int:
    """0 ready, 1 not ready (2, could not check, is the CLI's)."""
    return 0 if report.ready else 1


def to_json(report: CheckReport) -> dict[str, Any]:
    """The report as a JSON-ready dict matching `report_json_schema()`."""
    objects: dict[str, Any] = {}
    for check in report.objects:
        objects[check.object_type] = {
            "gather_model": check.gather_model,
            "id_property": dataclasses.asdict(check.id_property),
            "records": {
                "total": check.total,
                "with_id": check.with_id,
                "missing_id": check.missing_id,
                "missing_sample": list(check.missing_sample),
                "scanned": check.scanned,
            },
            "duplicates": None
            if check.duplicates is None
            else dataclasses.asdict(check.duplicates),
            "duplicates_note": check.duplicates_note,
            "links": None if check.links is None else dataclasses.asdict(check.links),
        }
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "ready": report.ready,
        "verdict": report.verdict,
        "exit_code": exit_code(report),
        "strict": report.strict,
        "api_url": report.api_url,
        "api_version": {
            "name": report.api_version.name,
            "supported_until": report.api_version.supported_until.isoformat(),
            "supported": report.api_version.is_supported(report.today),
        },
        "objects": objects,
        "problems": [
            {
                "object": p.object_type,
                "code": p.code,
                "severity": p.severity,
                "message": p.message,
                "fix": p.fix,
                "count": p.count,
            }
            for p in report.problems
        ],
        "identity_cases": [
            {
                "object": c.object_type,
                "code": c.code,
                "count": c.count,
                "keep": c.keep,
                "mirror": c.mirror,
            }
            for c in report.identity_cases
        ],
        "suggestions": None if report.suggestions is None else _suggestions_json(report),
        "requests": report.requests,
        "elapsed_s": round(report.elapsed_s, 3),
    }


def _suggestions_json(report: CheckReport) -> dict[str, Any]:
    return {
        s.object_type: {
            "setting": s.setting,
            "recommended": s.recommended,
            "reason": s.reason,
            "candidates": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "type": c.type,
                    "has_unique_value": c.has_unique_value,
                    "total": c.total,
                    "filled": c.filled,
                    "coverage": round(c.coverage, 6),
                    "duplicate_values": c.duplicate_values,
                    "duplicate_records": c.duplicate_records,
                    "reason": c.reason,
                }
                for c in s.candidates
            ],
        }
        for s in report.suggestions or []
    }


def _suggestion_lines(report: CheckReport) -> list[str]:
    lines = ["ID suggestions (--suggest), best first:"]
    for suggestion in report.suggestions or []:
        lines.append(f"  {suggestion.object_type.capitalize()} ({suggestion.setting}):")
        for rank, candidate in enumerate(suggestion.candidates, start=1):
            lines.append(f"    {rank}. {candidate.reason}")
        lines.append(f"    recommended: {suggestion.setting} = {suggestion.recommended}")
        lines.append(f"      because {suggestion.reason}")
    lines.append("")
    return lines


def _identity_lines(report: CheckReport) -> list[str]:
    lines = [
        "Identity cases and what each sync mode does (keep: the default, never deletes in "
        "Gather; mirror: opt-in, deletes what HubSpot no longer has):"
    ]
    for case in report.identity_cases:
        count = f" ({case.count:,})" if case.count else ""
        lines.append(f"  {case.object_type} {case.code.replace('_', ' ')}{count}:")
        lines.append(f"      keep: {case.keep}")
        lines.append(f"      mirror: {case.mirror}")
    lines.append("")
    return lines


def _shown(value: str | None) -> str:
    if value is None:
        return "(empty)"
    text = value if len(value) <= MAX_SHOWN_VALUE else value[: MAX_SHOWN_VALUE - 3] + "..."
    return repr(text)


def _archived_lines(check: ObjectCheck) -> list[str]:
    if check.archived is None:
        return []
    return [
        f"  archived: {check.archived:,} records; {check.archived_held_by_live:,} share their "
        "ID with a live record"
    ]


def _object_lines(check: ObjectCheck) -> list[str]:
    prop = check.id_property
    title = (
        f"{check.object_type.capitalize()} -> Gather {check.gather_model}s, "
        f"ID property {prop.setting} = {prop.name}"
    )
    lines = [title]
    if prop.uniqueness == "hubspot_id":
        lines.append(f"  property: {_UNIQUENESS_TEXT[prop.uniqueness]}")
    elif prop.exists:
        lines.append(f"  property: exists, type {prop.type}, {_UNIQUENESS_TEXT[prop.uniqueness]}")
    else:
        lines.append("  property: DOES NOT EXIST in HubSpot")
    how = "scanned" if check.scanned else "counted by HubSpot search"
    records = f"  records: {check.total:,} {how}; {check.with_id:,} have an ID"
    if check.missing_id:
        records += (
            f", {check.missing_id:,} have none (sample HubSpot ids: "
            f"{', '.join(check.missing_sample)})"
        )
    lines.append(records)
    dups = check.duplicates
    if dups is None:
        lines.append(f"  duplicates: {check.duplicates_note}")
    elif not dups.values:
        lines.append("  duplicates: none")
    else:
        lines.append(f"  duplicates: {dups.values:,} values shared by {dups.records:,} records")
        for group in dups.groups:
            members = ", ".join(
                hid if raw is None or raw == group.value else f"{hid} ({_shown(raw)})"
                for hid, raw in zip(group.hubspot_ids, group.raw_values, strict=True)
            )
            more = "" if group.count <= len(group.hubspot_ids) else ", ..."
            lines.append(f"    {_shown(group.value)} x{group.count}: {members}{more}")
        if dups.values > len(dups.groups):
            lines.append(
                f"    ... and {dups.values - len(dups.groups):,} more (--max-duplicates, "
                "or --format json)"
            )
    lines += _archived_lines(check)
    links = check.links
    if links is not None:
        line = f"  primary company: {links.without_company:,} {check.object_type} have none"
        if links.company_without_account_id is None:
            line += f"; account IDs not checked ({links.account_id_property} does not exist)"
        else:
            line += (
                f"; {links.company_without_account_id:,} point at a company without "
                f"{links.account_id_property}"
            )
        lines.append(line)
    return lines


def to_text(report: CheckReport) -> str:
    """The report for a terminal, ending with the one-line verdict."""
    lines = [f"HubSpot portal check ({report.api_url}, API {report.api_version.name})", ""]
    for check in report.objects:
        lines += _object_lines(check)
        lines.append("")
    if report.problems:
        lines.append("Problems and fixes:")
        for problem in report.problems:
            lines.append(f"  [{problem.severity}] {problem.object_type}: {problem.message}")
            lines.append(f"      fix: {problem.fix}")
        lines.append("")
    if report.identity_cases:
        lines += _identity_lines(report)
    if report.suggestions is not None:
        lines += _suggestion_lines(report)
    lines.append(f"{report.requests:,} HubSpot requests in {report.elapsed_s:,.1f} s.")
    lines.append(report.verdict)
    return "\n".join(lines) + "\n"
