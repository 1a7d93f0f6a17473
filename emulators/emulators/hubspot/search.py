"""`POST /crm/v3/objects/{type}/search`: filters, one sort, offset paging, the result cap.

Semantics (HubSpot's search guide, https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm):
filters inside a group are ANDed, groups are ORed; string comparisons are case-insensitive
except enumerations; dates compare as epoch ms (filter values may be epoch-ms strings or ISO);
numbers numerically; `hs_object_id` as an integer.
A missing value never satisfies EQ/LT/GT/IN/BETWEEN and always satisfies NEQ and NOT_IN.
Results default to creation order (ascending id); records without the sort property come last.

Keyset paging (`hs_object_id` GT x, sorted by `hs_object_id` ascending) must stay cheap on
100,000 records: the matching set *without* the id bounds is cached per store version, and the
bounds are applied by bisection, so each page costs O(log n + page) instead of a full scan.
"""

from __future__ import annotations

import bisect
import fnmatch
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.errors import validation_error
from emulators.hubspot.model import Record, Store, Table
from emulators.hubspot.properties import MODIFIED_PROPERTY, QUERY_PROPERTIES
from emulators.hubspot.timeutil import parse_ms

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
# "A query can contain a maximum of 3,000 characters" (the search guide, "Limits").
MAX_QUERY_CHARS = 3_000
DEFAULT_LIMIT = 10
ID_PROPERTY = "hs_object_id"
# Result sets kept per store version (a few concurrent keyset scans at most).
CACHE_ENTRIES = 16
_BOUND_OPERATORS = frozenset({"GT", "GTE", "LT", "LTE", "BETWEEN"})

Comparable = Any  # float | int | str


@dataclass(frozen=True)
class Filter:
    """One parsed filter, its operands already converted to the property's comparable type."""

    name: str
    operator: str
    value: Comparable = None
    high: Comparable = None
    values: tuple[Comparable, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A validated search request."""

    groups: tuple[tuple[Filter, ...], ...]
    sort_name: str | None
    descending: bool
    query: str | None
    names: tuple[str, ...] | None
    limit: int
    offset: int
    # Inclusive id bounds lifted out of a single filter group (keyset paging).
    min_id: int | None = None
    max_id: int | None = None


def record_value(table: Table, record: Record, name: str) -> Comparable:
    """A record's value of `name` in comparable form (None when missing or unparseable)."""
    if name == ID_PROPERTY:
        return record.id
    if name == "createdate":
        return record.created_ms
    if name == MODIFIED_PROPERTY[table.object_type] or name == "hs_lastmodifieddate":
        return record.updated_ms
    cache = record.parsed
    if name in cache:
        return cache[name]
    raw = record.values.get(name)
    value = None if raw is None else _convert(table, name, raw, strict=False)
    cache[name] = value
    return value


def _convert(table: Table, name: str, raw: str, *, strict: bool) -> Comparable:
    kind = table.properties[name].type
    if name == ID_PROPERTY or kind == "number":
        try:
            number = float(raw)
        except ValueError:
            if strict:
                raise validation_error(f"{raw!r} is not a valid number for {name}") from None
            return None
        return number if math.isfinite(number) else None
    if kind in ("date", "datetime"):
        ms = parse_ms(raw)
        if ms is None and strict:
            msg = f"{raw!r} is not a valid date for {name}: send epoch milliseconds"
            raise validation_error(msg)
        return ms
    if kind == "enumeration":
        return raw  # enumeration filters are case-sensitive (the search guide)
    return raw.lower()


def parse_search(body: Any, table: Table, config: EmulatorConfig) -> SearchQuery:
    """Validate a search body against HubSpot's rules; raises 400 VALIDATION_ERROR."""
    if not isinstance(body, dict):
        raise validation_error(
            "The request body must be a JSON object (PublicObjectSearchRequest)."
        )
    groups = _parse_groups(body.get("filterGroups") or [], table, config)
    sort_name, descending = _parse_sorts(body.get("sorts") or [], table)
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY_CHARS):
        raise validation_error(f"query must be a string of at most {MAX_QUERY_CHARS} characters")
    names = body.get("properties")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise validation_error("properties must be a list of property names")
    limit = body.get("limit", DEFAULT_LIMIT)
    if (
        not isinstance(limit, int)
        or isinstance(limit, bool)
        or not 0 <= limit <= config.search_limit_max
    ):
        msg = f"limit must be an integer between 0 and {config.search_limit_max}"
        raise validation_error(msg)
    after = body.get("after")
    offset = 0
    if after not in (None, ""):
        try:
            offset = int(str(after))
        except ValueError:
            raise validation_error(f"after must be an integer offset, got {after!r}") from None
        if offset < 0:
            raise validation_error("after must not be negative")
    cap = config.search_result_cap
    if (config.search_cap_rule == "after" and offset >= cap) or (
        config.search_cap_rule == "after_plus_limit" and offset + limit > cap
    ):
        msg = (
            f"Search results are limited to {cap} per query and paging beyond them is not "
            "allowed; narrow the query instead (e.g. hs_object_id GT the last id seen)."
        )
        raise validation_error(msg, context={"after": [str(offset)], "limit": [str(limit)]})
    min_id = max_id = None
    if len(groups) == 1:
        kept, min_id, max_id = _lift_id_bounds(groups[0])
        groups = (kept,)
    return SearchQuery(
        groups=groups,
        sort_name=sort_name,
        descending=descending,
        query=query.lower() if isinstance(query, str) and query else None,
        names=tuple(names) if names else None,
        limit=limit,
        offset=offset,
        min_id=min_id,
        max_id=max_id,
    )


def _parse_groups(raw: Any, table: Table, config: EmulatorConfig) -> tuple[tuple[Filter, ...], ...]:
    if not isinstance(raw, list):
        raise validation_error("filterGroups must be a list of {filters: [...]} objects")
    if len(raw) > config.search_max_filter_groups:
        msg = f"Too many filter groups: {len(raw)}; at most {config.search_max_filter_groups}."
        raise validation_error(msg)
    total = 0
    groups: list[tuple[Filter, ...]] = []
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("each filter group needs a filters list")
        if len(filters) > config.search_max_filters_per_group:
            msg = (
                f"Too many filters in a group: {len(filters)}; "
                f"at most {config.search_max_filters_per_group}."
            )
            raise validation_error(msg)
        total += len(filters)
        groups.append(tuple(_parse_filter(f, table) for f in filters))
    if total > config.search_max_filters_total:
        msg = f"Too many filters: {total}; at most {config.search_max_filters_total} in total."
        raise validation_error(msg)
    return tuple(groups)


def _parse_filter(raw: Any, table: Table) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error("each filter must be an object with propertyName and operator")
    name, operator = raw.get("propertyName"), raw.get("operator")
    if not isinstance(name, str) or name not in table.properties:
        raise validation_error(f"Property {name!r} does not exist on {table.object_type}.")
    if operator not in OPERATORS:
        msg = f"Unknown operator {operator!r}; use one of {', '.join(sorted(OPERATORS))}."
        raise validation_error(msg)

    def operand(key: str) -> Comparable:
        value = raw.get(key)
        if value is None:
            raise validation_error(f"operator {operator} on {name} needs a {key!r}")
        return _convert(table, name, str(value), strict=True)

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Filter(name, operator)
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"operator {operator} on {name} needs a non-empty 'values' list")
        return Filter(
            name, operator, values=tuple(_convert(table, name, str(v), strict=True) for v in values)
        )
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        value = raw.get("value")
        if value is None:
            raise validation_error(f"operator {operator} on {name} needs a 'value'")
        return Filter(name, operator, pattern=str(value).lower())
    if operator == "BETWEEN":
        return Filter(name, operator, value=operand("value"), high=operand("highValue"))
    return Filter(name, operator, value=operand("value"))


def _parse_sorts(raw: Any, table: Table) -> tuple[str | None, bool]:
    if not isinstance(raw, list):
        raise validation_error("sorts must be a list")
    if len(raw) > 1:
        raise validation_error("Only one sorting rule can be applied to any search.")
    if not raw:
        return None, False
    sort = raw[0]
    # The spec types sorts as strings; clients send objects (the search guide's examples).
    name: Any
    direction: Any
    if isinstance(sort, str):
        descending = sort.startswith("-")
        name, direction = sort.lstrip("-"), "DESCENDING" if descending else "ASCENDING"
    elif isinstance(sort, dict):
        name, direction = sort.get("propertyName"), sort.get("direction", "ASCENDING")
    else:
        raise validation_error("each sort must be an object {propertyName, direction}")
    if not isinstance(name, str) or name not in table.properties:
        raise validation_error(f"Cannot sort by {name!r}: no such property on {table.object_type}.")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise validation_error("sort direction must be ASCENDING or DESCENDING")
    return name, direction == "DESCENDING"


def _lift_id_bounds(group: tuple[Filter, ...]) -> tuple[tuple[Filter, ...], int | None, int | None]:
    """Take `hs_object_id` range filters out of a group as inclusive integer bounds."""
    low: int | None = None
    high: int | None = None
    kept: list[Filter] = []
    for f in group:
        if f.name != ID_PROPERTY or f.operator not in _BOUND_OPERATORS:
            kept.append(f)
            continue
        lo_v = hi_v = None
        if f.operator == "GT":
            lo_v = math.floor(f.value) + 1
        elif f.operator == "GTE":
            lo_v = math.ceil(f.value)
        elif f.operator == "LT":
            hi_v = math.ceil(f.value) - 1
        elif f.operator == "LTE":
            hi_v = math.floor(f.value)
        else:
            lo_v, hi_v = math.ceil(f.value), math.floor(f.high)
        if lo_v is not None:
            low = lo_v if low is None else max(low, lo_v)
        if hi_v is not None:
            high = hi_v if high is None else min(high, hi_v)
    return tuple(kept), low, high


def _matches(table: Table, record: Record, f: Filter) -> bool:  # noqa: PLR0911, PLR0912
    value = record_value(table, record, f.name)
    op = f.operator
    if op == "HAS_PROPERTY":
        return f.name in record.values or f.name in (ID_PROPERTY, "createdate")
    if op == "NOT_HAS_PROPERTY":
        return not (f.name in record.values or f.name in (ID_PROPERTY, "createdate"))
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        raw = record.values.get(f.name)
        found = raw is not None and _token_match(raw.lower(), f.pattern or "")
        return found if op == "CONTAINS_TOKEN" else not found
    if value is None:
        return op in ("NEQ", "NOT_IN")
    try:
        if op == "EQ":
            return bool(value == f.value)
        if op == "NEQ":
            return bool(value != f.value)
        if op == "LT":
            return bool(value < f.value)
        if op == "LTE":
            return bool(value <= f.value)
        if op == "GT":
            return bool(value > f.value)
        if op == "GTE":
            return bool(value >= f.value)
        if op == "BETWEEN":
            return bool(f.value <= value <= f.high)
    except TypeError:
        return False
    if op == "IN":
        return value in f.values
    return value not in f.values  # NOT_IN


_TOKEN_SEPARATORS = str.maketrans("@.-;", "    ")


def _token_match(text: str, pattern: str) -> bool:
    """Whole value or any token; `;` separates the values of multi-value properties such as
    `hs_merged_object_ids`."""
    if fnmatch.fnmatchcase(text, pattern):
        return True
    tokens = text.translate(_TOKEN_SEPARATORS).split()
    return any(fnmatch.fnmatchcase(token, pattern) for token in tokens)


@dataclass
class _ResultSet:
    records: list[Record]
    ids: list[int] | None  # ascending ids when the order is by id, for bisection


class SearchEngine:
    """Runs queries against a store, caching result sets per store version."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[Any, ...], _ResultSet] = OrderedDict()
        self._version = -1

    def run(
        self, store: Store, table: Table, query: SearchQuery, config: EmulatorConfig, now: int
    ) -> tuple[int, list[Record]]:
        """(total matches, the requested page; shorter than `limit` with `short_search_pages`)."""
        if store.version != self._version:
            self._cache.clear()
            self._version = store.version
        key = (table.object_type, query.groups, query.sort_name, query.descending, query.query)
        result = self._cache.get(key)
        if result is None:
            result = self._evaluate(table, query)
            self._cache[key] = result
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        records = self._bounded(result, query)
        if config.search_index_lag_s > 0:
            horizon = now - int(config.search_index_lag_s * 1000)
            records = [r for r in records if r.written_ms <= horizon]
        size = query.limit
        if config.short_search_pages is not None:
            size = min(size, config.short_search_pages)
        return len(records), records[query.offset : query.offset + size]

    def _bounded(self, result: _ResultSet, query: SearchQuery) -> list[Record]:
        low, high = query.min_id, query.max_id
        if low is None and high is None:
            return result.records
        if result.ids is not None:
            start = 0 if low is None else bisect.bisect_left(result.ids, low)
            stop = len(result.ids) if high is None else bisect.bisect_right(result.ids, high)
            return result.records[start:stop]
        lo = -math.inf if low is None else low
        hi = math.inf if high is None else high
        return [r for r in result.records if lo <= r.id <= hi]

    def _evaluate(self, table: Table, query: SearchQuery) -> _ResultSet:
        predicate = _predicate(table, query)
        records = [r for r in table.iter_active() if predicate(r)]
        name = query.sort_name
        if name is None or (name == ID_PROPERTY and not query.descending):
            return _ResultSet(records, [r.id for r in records])
        if name == ID_PROPERTY:
            records.reverse()
            return _ResultSet(records, None)
        present = [r for r in records if record_value(table, r, name) is not None]
        missing = [r for r in records if record_value(table, r, name) is None]
        present.sort(key=lambda r: record_value(table, r, name), reverse=query.descending)
        return _ResultSet(present + missing, None)


def _predicate(table: Table, query: SearchQuery) -> Callable[[Record], bool]:
    groups = list(query.groups)
    text = query.query
    query_names = QUERY_PROPERTIES[table.object_type]

    def predicate(record: Record) -> bool:
        if text is not None:
            values = record.values
            if not any(text in values.get(n, "").lower() for n in query_names):
                return False
        if not groups:
            return True
        return any(all(_matches(table, record, f) for f in group) for group in groups)

    return predicate
