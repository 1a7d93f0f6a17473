"""HubSpot property definitions -> JSON Schema, and the per-property value converters.

HubSpot returns every property value as a string (or null). The converters turn them into
the types the properties API announces, built once per property at discovery so the
per-record work is a dict lookup and one call. Values that do not parse (junk such as "N/A"
in a number property) become null and are counted, so one bad cell never stops a sync.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JsonSchema = dict[str, Any]
Converter = Callable[[str], Any]

UTC = dt.timezone.utc
# HubSpot dates are ISO (`YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss.sssZ`), but some properties come back
# as epoch milliseconds (https://developers.hubspot.com/docs/api-reference/crm-properties-v3/guide).
_EPOCH_MS = re.compile(r"^-?\d{10,14}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_CANONICAL_LENGTH = len("2024-01-17T19:55:04.281Z")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class JunkValueError(ValueError):
    """A value that does not parse as its property's type."""


def _number(raw: str) -> int | float:
    # "1,000" stays junk: a comma may be a thousands separator or a decimal one.
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError as exc:
        raise JunkValueError(raw) from exc
    if not math.isfinite(value):
        raise JunkValueError(raw)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise JunkValueError(raw)


def _ms_to_datetime(raw: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(raw) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise JunkValueError(raw) from exc


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, HubSpot's own response format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_datetime(raw: str) -> dt.datetime:
    """Parse HubSpot's ISO date-times (with or without fraction or offset) or epoch ms."""
    text = raw.strip()
    if _EPOCH_MS.match(text):
        return _ms_to_datetime(text)
    if _ISO_DATE.match(text):
        return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    if not _ISO_DATETIME.match(text):
        raise JunkValueError(raw)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat accepts only 3 or 6 fraction digits.
    head, sep, frac = text.partition(".")
    if sep:
        digits = re.match(r"\d+", frac)
        count = len(digits.group(0)) if digits else 0
        text = f"{head}.{frac[:count][:6].ljust(6, '0')}{frac[count:]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise JunkValueError(raw) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalize_datetime(raw: str) -> str:
    """A date-time value in HubSpot's canonical `...sssZ` form (ISO or epoch ms in)."""
    if len(raw) == _CANONICAL_LENGTH and raw[-1] == "Z" and raw[10] == "T" and raw[19] == ".":
        return raw  # already HubSpot's canonical `YYYY-MM-DDThh:mm:ss.sssZ`: the hot path
    text = raw.strip()
    return format_datetime(parse_datetime(text))


def _date(raw: str) -> str:
    text = raw.strip()
    if _ISO_DATE.match(text):
        return text
    return parse_datetime(text).date().isoformat()


def _string(raw: str) -> str:
    return raw


# HubSpot property `type` -> (JSON Schema fragment, converter). Types from the properties API
# (https://developers.hubspot.com/docs/api-reference/crm-properties-v3/guide:
# bool, date, datetime, enumeration, number, phone_number, string,
# plus read-only object_coordinates and json); anything unknown stays a string.
_TYPES: dict[str, tuple[JsonSchema, Converter]] = {
    "number": ({"type": ["number", "null"]}, _number),
    "bool": ({"type": ["boolean", "null"]}, _boolean),
    "datetime": ({"type": ["string", "null"], "format": "date-time"}, normalize_datetime),
    "date": ({"type": ["string", "null"], "format": "date"}, _date),
}
_STRING: tuple[JsonSchema, Converter] = ({"type": ["string", "null"]}, _string)


@dataclass(frozen=True)
class PropertyDef:
    """The parts of a HubSpot property definition the tap uses."""

    name: str
    type: str
    has_unique_value: bool = False
    # Defined by HubSpot / computed by HubSpot (`--suggest` prefers the portal's own properties);
    # not part of a definition's identity.
    hubspot_defined: bool = field(default=False, compare=False)
    calculated: bool = field(default=False, compare=False)

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> PropertyDef:
        """Build from one item of `GET /crm/properties/{version}/{objectType}`."""
        return cls(
            name=str(item["name"]),
            type=str(item.get("type") or "string"),
            has_unique_value=bool(item.get("hasUniqueValue", False)),
            hubspot_defined=bool(item.get("hubspotDefined", False)),
            calculated=bool(item.get("calculated", False)),
        )

    def json_schema(self) -> JsonSchema:
        """The nullable JSON Schema type of this property's values."""
        return dict(_TYPES.get(self.type, _STRING)[0])

    def converter(self) -> Converter:
        """The function turning this property's raw string into its typed value."""
        return _TYPES.get(self.type, _STRING)[1]


class ValueConverter:
    """Converts a record's `properties` map into typed values, counting junk per property."""

    def __init__(self, definitions: Iterable[PropertyDef]) -> None:
        self._converters: dict[str, Converter] = {d.name: d.converter() for d in definitions}
        self.junk: Counter[str] = Counter()

    def only(self, names: Iterable[str]) -> ValueConverter:
        """A converter for just these properties (the requested ones), sharing the junk count.

        HubSpot returns a few properties whatever was asked for; converting only what was
        requested keeps unselected values out of the record instead of typing then dropping them.
        """
        narrowed = ValueConverter([])
        narrowed._converters = {n: self._converters[n] for n in names if n in self._converters}
        narrowed.junk = self.junk
        return narrowed

    def convert(self, properties: Mapping[str, Any], into: dict[str, Any]) -> None:
        """Write every known property of `properties` into `into`, typed; junk becomes None."""
        converters = self._converters
        for name, raw in properties.items():
            convert = converters.get(name)
            if convert is None:
                continue  # a property HubSpot added or we did not ask for: not in the schema
            if raw is None or raw == "":
                into[name] = None if convert is not _string else raw
                continue
            try:
                into[name] = convert(raw if isinstance(raw, str) else str(raw))
            except JunkValueError:
                self.junk[name] += 1
                into[name] = None


def definition_from_schema(name: str, schema: Mapping[str, Any]) -> PropertyDef:
    """A property as a catalog's JSON Schema gives it: the HubSpot type whose converter
    yields that schema (`PropertyDef.json_schema` run backwards; every string-valued HubSpot
    type, enumeration and phone_number included, converts the same way as `string`)."""
    kinds = schema.get("type")
    types = {kinds} if isinstance(kinds, str) else set(kinds or [])
    if types & {"number", "integer"}:
        return PropertyDef(name, "number")
    if "boolean" in types:
        return PropertyDef(name, "bool")
    formats = {"date-time": "datetime", "date": "date"}
    return PropertyDef(name, formats.get(str(schema.get("format") or ""), "string"))


def fetch_definitions(client: Any, object_type: str) -> list[PropertyDef]:
    """Every (non-sensitive, unarchived) property of `object_type` from the properties API."""
    body = client.get(client.paths.properties(object_type), kind="properties")
    return [PropertyDef.from_api(item) for item in body.get("results") or []]
