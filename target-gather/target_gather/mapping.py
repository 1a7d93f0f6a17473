"""Stream -> Gather model and fields: the `mappings` setting and required traits.

Two steps, so that mistakes surface as early as possible:

1. `parse_mappings` checks the shape of the `mappings` setting when the target starts (unknown
   kinds, unknown options, a custom model without `model_id`, an event without a type).
2. `bind` checks one mapping against a stream's SCHEMA as it arrives (the id field, every mapped
   field and every required trait must exist), and returns a `BoundMapping` whose `map_record`
   turns a record into what Gather receives, or into the reason it is invalid.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# Re-exported: the sinks and tests import it from here.
from hubspot_gather_common.ids import normalize_id

Kind = Literal["account", "user", "custom", "event", "retire", "ignore"]
KINDS: tuple[Kind, ...] = ("account", "user", "custom", "event", "retire")
RECORD_KINDS = frozenset({"account", "user", "custom"})
IGNORED_MODEL = "(ignored)"
NullPolicy = Literal["omit", "clear"]

# Required traits per standard model (Gather's "Installing via Gather API" help page); custom
# models require only `id`.
REQUIRED_TRAITS: dict[str, tuple[str, ...]] = {
    "account": ("name",),
    "user": ("first_name", "last_name", "email"),
}
# Traits holding another record's id (normalized like ids) and traits holding an email address
# (stripped and lower-cased, and checked), per standard model.
ID_TRAITS: dict[str, tuple[str, ...]] = {"user": ("account_id",)}
EMAIL_TRAITS: dict[str, tuple[str, ...]] = {"user": ("email",)}
# A stream key (or id field) named like this holds emails: ids from it are lower-cased.
EMAIL_FIELD_NAMES = frozenset({"email"})

# tap-hubspot-gather's record id, merge and portal fields: the built-in mappings track
# identity by them (identity.py), each source portal in its own namespace.
SOURCE_ID_FIELD = "id"
MERGED_FIELD = "merged_ids"
PORTAL_FIELD = "portal_id"
IDENTITY_OPTIONS = ("source_id_field", "merged_ids_field", "portal_field")
_TRACKING = {
    "source_id_field": SOURCE_ID_FIELD,
    "merged_ids_field": MERGED_FIELD,
    "portal_field": PORTAL_FIELD,
}
# tap-hubspot-gather's stream of records whose ID is empty: `<stream>_without_id` (README).
WITHOUT_ID_SUFFIX = "_without_id"

# Built-in mappings for tap-hubspot-gather's streams: trait <- stream field.
BUILTIN_MAPPINGS: dict[str, dict[str, Any]] = {
    "companies": {
        "kind": "account",
        "traits": {"name": "name", "city": "city", "country": "country"},
        **_TRACKING,
    },
    "companies" + WITHOUT_ID_SUFFIX: {
        "kind": "retire",
        "retires": "companies",
        "source_id_field": SOURCE_ID_FIELD,
        "portal_field": PORTAL_FIELD,
    },
    "contacts" + WITHOUT_ID_SUFFIX: {
        "kind": "retire",
        "retires": "contacts",
        "source_id_field": SOURCE_ID_FIELD,
        "portal_field": PORTAL_FIELD,
    },
    "contacts": {
        **_TRACKING,
        "kind": "user",
        "traits": {
            "first_name": "firstname",
            "last_name": "lastname",
            "email": "email",
            "city": "city",
            "country": "country",
            "account_id": "primary_company_account_id",
        },
    },
}
WILDCARD = "*"
logger = logging.getLogger("target-gather")
SDC_PREFIX = "_sdc_"

_OPTIONS_COMMON = frozenset(
    {"kind", "id_field", "id_is_email", "traits", "all_fields", "include_defaults"}
)
_TRACKED = frozenset(IDENTITY_OPTIONS)
_OPTIONS: dict[Kind, frozenset[str]] = {
    "account": _OPTIONS_COMMON | _TRACKED | {"required"},
    "user": _OPTIONS_COMMON | _TRACKED | {"required"},
    "custom": _OPTIONS_COMMON | _TRACKED | {"model_id", "required"},
    "event": _OPTIONS_COMMON
    | {"event_type", "event_type_field", "user_field", "account_field", "portal_field"},
    "retire": frozenset({"kind", "retires", "source_id_field", "portal_field"}),
}
_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
# Deliberately loose: one `@`, no spaces, a dot in the domain. Gather itself decides the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_TYPES = frozenset({"string", "integer", "number"})


class MappingError(ValueError):
    """A mapping is malformed or does not fit its stream; the message names the fix."""


class InvalidRecordError(ValueError):
    """A record cannot be sent: the message says why (never the record's values)."""


# ---------------------------------------------------------------------------------------------
# parsing the setting


@dataclass(frozen=True)
class MappingSpec:
    """One stream's mapping as configured (checked for shape, not yet against a schema)."""

    stream: str
    kind: Kind
    model: str
    id_field: str | None = None
    id_is_email: bool | None = None
    traits: dict[str, str] = field(default_factory=dict)
    all_fields: bool = False
    required: tuple[str, ...] = ()
    event_type: str | None = None
    event_type_field: str | None = None
    link: Literal["user", "account"] | None = None
    link_field: str | None = None
    # Built-in traits the user did not restate: dropped (with a warning) when the stream's
    # schema lacks their field, e.g. a property deselected in the tap.
    optional_traits: frozenset[str] = frozenset()
    # Identity tracking (identity.py): the field holding the source's own record id, the field
    # listing the record ids a merge absorbed, and the field naming the source portal (each
    # portal is its own namespace). None: not tracked / no merges / one unnamed source.
    source_id_field: str | None = None
    merged_ids_field: str | None = None
    portal_field: str | None = None
    # Of those, the built-in defaults the user did not restate: unused (not an error) when the
    # stream's schema lacks their field.
    optional_identity: frozenset[str] = frozenset()
    # kind `retire`: the stream whose records this one reports as having an empty ID.
    retires: str | None = None


def _where(stream: str, option: str | None = None) -> str:
    return f"mappings.{stream}" + (f".{option}" if option else "")


def _expect_str(stream: str, option: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{_where(stream, option)} must be a non-empty string, got {value!r}."
        raise MappingError(msg)
    return value


def _merge_with_builtin(stream: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """User options layered over the built-in mapping of `stream` (if any and not disabled)."""
    builtin = BUILTIN_MAPPINGS.get(stream)
    if builtin is None or raw.get("include_defaults") is False:
        return dict(raw)
    if "kind" in raw and raw["kind"] != builtin["kind"]:
        return dict(raw)  # a different kind replaces the built-in mapping entirely
    merged = {**builtin, **raw}
    # A built-in identity option left at its default applies only where its field exists.
    merged["_optional_identity"] = frozenset(
        o for o in IDENTITY_OPTIONS if o in builtin and raw.get(o, builtin[o]) == builtin[o]
    )
    if "traits" not in builtin:
        return merged
    traits = dict(builtin["traits"])
    extra = raw.get("traits") or {}
    if not isinstance(extra, Mapping):
        msg = f"{_where(stream, 'traits')} must be an object of trait: stream field."
        raise MappingError(msg)
    for trait, source in extra.items():
        if source is None:
            traits.pop(trait, None)  # `"city": null` drops a built-in trait
        else:
            traits[trait] = source
    merged["traits"] = traits
    merged["_optional_traits"] = frozenset(builtin["traits"]) - set(extra)
    return merged


def parse_mapping(stream: str, raw: Any) -> MappingSpec:
    """Check one entry of the `mappings` setting; raise `MappingError` naming the fix."""
    if not isinstance(raw, Mapping):
        msg = f"{_where(stream)} must be an object such as {{'kind': 'account', ...}}."
        raise MappingError(msg)
    options = _merge_with_builtin(stream, raw)
    optional_traits = options.pop("_optional_traits", frozenset())
    optional_identity = options.pop("_optional_identity", frozenset())
    kind = options.get("kind")
    if kind not in KINDS:
        msg = (
            f"{_where(stream, 'kind')} is {kind!r}: use one of {', '.join(KINDS)} "
            "(a custom model is kind 'custom' with its 'model_id')."
        )
        raise MappingError(msg)
    unknown = set(options) - _OPTIONS[kind]
    if unknown:
        msg = (
            f"{_where(stream)} has unknown option(s) {', '.join(sorted(unknown))} for kind "
            f"{kind!r}: allowed are {', '.join(sorted(_OPTIONS[kind]))}."
        )
        raise MappingError(msg)
    traits_raw = options.get("traits") or {}
    if not isinstance(traits_raw, Mapping):
        msg = f"{_where(stream, 'traits')} must be an object of trait: stream field."
        raise MappingError(msg)
    traits = {
        _expect_str(stream, "traits", trait): _expect_str(stream, f"traits.{trait}", source)
        for trait, source in traits_raw.items()
        if source is not None
    }
    if "id" in traits:
        msg = f"{_where(stream, 'traits.id')}: the id is not a trait; set id_field instead."
        raise MappingError(msg)
    for flag in ("all_fields", "id_is_email", "include_defaults"):
        if flag in options and not isinstance(options[flag], bool):
            msg = f"{_where(stream, flag)} must be true or false, got {options[flag]!r}."
            raise MappingError(msg)
    id_field = options.get("id_field")
    if id_field is not None:
        id_field = _expect_str(stream, "id_field", id_field)
    tracking = {
        name: None if options.get(name) is None else _expect_str(stream, name, options[name])
        for name in IDENTITY_OPTIONS
    }
    if kind == "retire":
        return _parse_retire(stream, options, tracking)

    model: str = kind
    if kind == "custom":
        model_id = options.get("model_id")
        if not isinstance(model_id, str) or not _MODEL_ID.match(model_id):
            msg = (
                f"{_where(stream, 'model_id')} must name the Gather custom model "
                f"(letters, digits, '_', '-', '.'), got {model_id!r}: copy the Model ID from "
                "Gather's Settings -> Data models."
            )
            raise MappingError(msg)
        model = model_id
    required = _parse_required(stream, kind, options, traits)
    spec = MappingSpec(
        optional_traits=frozenset(optional_traits) - set(required),
        stream=stream,
        kind=kind,
        model=model if kind != "event" else "events",
        id_field=id_field,
        id_is_email=options.get("id_is_email"),
        traits=traits,
        all_fields=bool(options.get("all_fields", kind == "event")),
        required=required,
        optional_identity=frozenset(optional_identity),
        source_id_field=tracking["source_id_field"],
        merged_ids_field=tracking["merged_ids_field"],
        portal_field=tracking["portal_field"],
    )
    if kind == "event":
        spec = _parse_event(spec, options)
    return spec


def _parse_retire(
    stream: str, options: Mapping[str, Any], tracking: Mapping[str, str | None]
) -> MappingSpec:
    """A stream of source records whose ID is empty: each retires what its record held."""
    retires = _expect_str(stream, "retires", options.get("retires"))
    return MappingSpec(
        stream=stream,
        kind="retire",
        model="(retire)",
        retires=retires,
        source_id_field=tracking["source_id_field"] or SOURCE_ID_FIELD,
        portal_field=tracking["portal_field"],
    )


def _parse_required(
    stream: str, kind: Kind, options: Mapping[str, Any], traits: Mapping[str, str]
) -> tuple[str, ...]:
    if kind == "event":
        return ()
    required_raw = options.get("required", REQUIRED_TRAITS.get(kind, ()))
    if not isinstance(required_raw, Sequence) or isinstance(required_raw, str):
        msg = f"{_where(stream, 'required')} must be a list of trait names."
        raise MappingError(msg)
    required = tuple(_expect_str(stream, "required", r) for r in required_raw)
    missing = [r for r in required if r not in traits]
    if missing and not options.get("all_fields", False):
        msg = (
            f"{_where(stream)} maps to {kind} but maps no {', '.join(missing)} trait, "
            f"which Gather requires: add traits.{missing[0]} = <stream field>, or set "
            "required: [] if this stream only updates records another stream creates."
        )
        raise MappingError(msg)
    return required


# An event mapping sets exactly one option of each pair (the message explains both).
_EVENT_CHOICES = (
    (
        "event_type",
        "event_type_field",
        "event_type (a fixed type such as 'invoice.paid') or event_type_field (the field "
        "holding the type)",
    ),
    (
        "user_field",
        "account_field",
        "user_field or account_field (the field holding the Gather user or account id it "
        "belongs to)",
    ),
)


def _parse_event(spec: MappingSpec, options: Mapping[str, Any]) -> MappingSpec:
    stream = spec.stream
    for first, second, choices in _EVENT_CHOICES:
        if (options.get(first) is None) == (options.get(second) is None):
            msg = f"{_where(stream)} is an event mapping: set exactly one of {choices}."
            raise MappingError(msg)
    event_type = options.get("event_type")
    type_field = options.get("event_type_field")
    user_field = options.get("user_field")
    account_field = options.get("account_field")
    link: Literal["user", "account"] = "user" if user_field is not None else "account"
    link_field = _expect_str(stream, f"{link}_field", user_field or account_field)
    return MappingSpec(
        **{
            **spec.__dict__,
            "event_type": None
            if event_type is None
            else _expect_str(stream, "event_type", event_type),
            "event_type_field": None
            if type_field is None
            else _expect_str(stream, "event_type_field", type_field),
            "link": link,
            "link_field": link_field,
        }
    )


def parse_mappings(raw: Any) -> dict[str, MappingSpec]:
    """The built-in mappings overlaid with the `mappings` setting, all checked for shape."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        msg = "mappings must be an object keyed by stream name (see target-gather's README)."
        raise MappingError(msg)
    streams = {**dict.fromkeys(BUILTIN_MAPPINGS), **dict.fromkeys(raw)}
    specs: dict[str, MappingSpec] = {}
    for stream in streams:
        entry = raw.get(stream, {})
        if entry is False:  # `"stream": false`: drop the stream's records on purpose
            specs[stream] = MappingSpec(stream=stream, kind="ignore", model=IGNORED_MODEL)
            continue
        specs[stream] = parse_mapping(stream, entry)
    return specs


def spec_for(specs: Mapping[str, MappingSpec], stream: str) -> MappingSpec:
    """The mapping of `stream`, or the wildcard one; a clear error when there is none."""
    spec = specs.get(stream) or specs.get(WILDCARD)
    if spec is None:
        mapped = ", ".join(sorted(specs)) or "none"
        msg = (
            f"stream {stream!r} has no mapping (mapped streams: {mapped}). Fix: add "
            f"mappings.{stream} = {{'kind': 'account'|'user'|'custom'|'event', ...}} to "
            "target-gather's config, or deselect the stream in the tap."
        )
        raise MappingError(msg)
    if spec.stream == WILDCARD:
        spec = MappingSpec(**{**spec.__dict__, "stream": stream})
    return spec


# ---------------------------------------------------------------------------------------------
# binding to a schema, mapping records


@dataclass(slots=True)
class Mapped:
    """A record as Gather will receive it: `key` identifies it for dedupe and the ledger.

    Treated as immutable (`dataclasses.replace` makes a changed copy), but not `frozen`: a
    frozen dataclass sets each field through `object.__setattr__`, which tripled the cost of
    building one, once per record on the hot path.
    """

    key: str
    body: dict[str, Any]
    delete: bool = False
    # Identity (streams whose records carry the source's own record id, see identity.py):
    source_id: str | None = None
    merged: tuple[str, ...] = ()  # source ids this record absorbed
    no_id: bool = False  # the record's ID is empty: nothing to send, its old Gather id is gone
    link: str | None = None  # a user's account_id as sent (to clear it if the account goes)
    nulls: tuple[str, ...] = ()  # traits left out because null (omit): cleared on a takeover
    origin: str = ""  # the source portal (`portal_field`); '' for a source without one


def _field_types(schema: Mapping[str, Any], name: str) -> set[str]:
    prop = schema.get("properties", {}).get(name, {})
    types = prop.get("type", [])
    found = {types} if isinstance(types, str) else set(types)
    for option in prop.get("anyOf", []) or []:
        option_type = option.get("type", [])
        found |= {option_type} if isinstance(option_type, str) else set(option_type)
    return found - {"null"}


def _check_field(
    spec: MappingSpec, schema: Mapping[str, Any], option: str, name: str, *, id_like: bool
) -> None:
    properties = schema.get("properties", {})
    if name not in properties:
        available = ", ".join(sorted(properties)[:20]) or "none"
        msg = (
            f"{_where(spec.stream, option)} names field {name!r}, which the schema of stream "
            f"{spec.stream!r} lacks (its fields: {available}). Fix: name one of "
            "the stream's fields, select the property in the tap, or remove this entry."
        )
        raise MappingError(msg)
    types = _field_types(schema, name)
    if id_like and types and not types & _ID_TYPES:
        msg = (
            f"{_where(spec.stream, option)}: field {name!r} of stream {spec.stream!r} is "
            f"{'/'.join(sorted(types))}, which cannot be an id. Fix: name a string or number "
            "field."
        )
        raise MappingError(msg)


@dataclass(frozen=True)
class BoundMapping:
    """A mapping checked against one stream's schema; `map_record` is the hot path."""

    spec: MappingSpec
    id_field: str
    id_is_email: bool
    null_policy: NullPolicy
    payload_format: Literal["flat", "traits"]
    # The field holding the source's own record id (identity tracking), and its merged ids.
    source_id_field: str | None = None
    merged_field: str | None = None
    portal_field: str | None = None  # the field naming the source portal (its namespace)
    # Derived once from `spec` (see __post_init__), so the hot path does no lookups.
    _required: tuple[str, ...] = field(default=(), init=False, repr=False)
    _email_traits: tuple[str, ...] = field(default=(), init=False, repr=False)
    _id_traits: tuple[str, ...] = field(default=(), init=False, repr=False)
    _trait_items: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False)
    _skip: frozenset[str | None] = field(default=frozenset(), init=False, repr=False)
    _links: tuple[str, ...] = field(default=(), init=False, repr=False)  # cleared when emptied
    _clear: bool = field(default=False, init=False, repr=False)
    _is_event: bool = field(default=False, init=False, repr=False)
    # The source id is the record id as normalized for the key: no second normalize_id.
    _source_is_id: bool = field(default=False, init=False, repr=False)
    _origin_field: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        spec = self.spec
        tracked = self.source_id_field is not None
        derived = {
            "_required": spec.required,
            "_email_traits": EMAIL_TRAITS.get(spec.kind, ()),
            "_id_traits": ID_TRAITS.get(spec.kind, ()),
            "_trait_items": tuple(spec.traits.items()),
            "_skip": frozenset(
                {"id", self.id_field, spec.event_type_field, spec.link_field}
                | set(spec.traits.values())
            ),
            "_links": ID_TRAITS.get(spec.kind, ()) if tracked else (),
            "_clear": self.null_policy == "clear",
            "_is_event": spec.kind == "event",
            "_source_is_id": self.source_id_field == self.id_field and not self.id_is_email,
            "_origin_field": self.portal_field,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def model(self) -> str:
        """The model slug (`account`, `user`, a custom model id) or `events`."""
        return self.spec.model

    @property
    def tracked(self) -> bool:
        """Whether the stream tracks identity (key changes, cleared IDs, merges, deletes)."""
        return self.source_id_field is not None and self.spec.kind in RECORD_KINDS

    def origin(self, record: Mapping[str, Any]) -> str:
        """The record's source portal ('' without `portal_field` or when it is empty)."""
        if self.portal_field is None:
            return ""
        return normalize_id(record.get(self.portal_field)) or ""

    def map_retire(self, record: Mapping[str, Any]) -> Mapped:
        """A `retire` stream's record: the source record whose ID is now empty."""
        assert self.source_id_field is not None  # set by _parse_retire
        source_id = normalize_id(record.get(self.source_id_field))
        if source_id is None:
            msg = f"source id field {self.source_id_field!r} is missing or empty"
            raise InvalidRecordError(msg)
        return Mapped(key="", body={}, source_id=source_id, no_id=True, origin=self.origin(record))

    def map_record(self, record: Mapping[str, Any]) -> Mapped:
        """The Gather body for `record`; `InvalidRecordError` when it must not be sent."""
        origin = self.origin(record)
        record_id = normalize_id(record.get(self.id_field), lower=self.id_is_email)
        source_id = None
        merged: tuple[str, ...] = ()
        if self.source_id_field is not None:
            if self._source_is_id:
                source_id = record_id
            else:
                source_id = normalize_id(record.get(self.source_id_field))
            if self.merged_field:
                merged = self._merged(record, source_id)
        if record_id is None:
            if source_id is not None:
                return Mapped(
                    key="", body={}, source_id=source_id, merged=merged, no_id=True, origin=origin
                )
            msg = f"id field {self.id_field!r} is missing, empty or not a string/number"
            raise InvalidRecordError(msg)
        if record.get("_sdc_deleted_at") is not None:
            return Mapped(key=record_id, body={}, delete=True, source_id=source_id, origin=origin)
        if source_id is None:
            mapped = self._upsert(record_id, record)
            return dataclasses.replace(mapped, origin=origin) if origin else mapped
        # The traits left out because null are among `unset` (those `_traits` skipped): a
        # trait it set stays in the body, so only these few need checking.
        unset: list[str] = []
        values = self._traits(record, unset)
        if self._is_event:
            body = self._event(record_id, record, values).body
        else:
            body = self._body(record_id, values)
        traits = body.get("traits", body)
        link = _first_set(traits, self._id_traits)
        if traits is values:
            nulls = tuple(t for t in unset if t not in traits)
        else:  # a flat body with a field named "traits", or an event
            nulls = tuple(
                t
                for t, f in self._trait_items
                if t not in traits and f in record and record[f] is None
            )
        return Mapped(
            key=record_id,
            body=body,
            source_id=source_id,
            merged=merged,
            link=None if link is None else str(link),
            nulls=nulls,
            origin=origin,
        )

    def with_nulls(self, mapped: Mapped) -> Mapped:
        """`mapped` with its null traits sent as null: the record takes over a Gather id
        another source record held, whose values must not linger."""
        if not mapped.nulls:
            return mapped
        cleared = dict.fromkeys(mapped.nulls)
        if self.payload_format == "traits":
            body = {**mapped.body, "traits": {**mapped.body["traits"], **cleared}}
        else:
            body = {**mapped.body, **cleared}
        return dataclasses.replace(mapped, body=body)

    def _merged(self, record: Mapping[str, Any], source_id: str | None) -> tuple[str, ...]:
        raw = record.get(self.merged_field) if self.merged_field else None
        if not isinstance(raw, list):
            return ()
        ids = (normalize_id(v) for v in raw)
        return tuple(dict.fromkeys(i for i in ids if i is not None and i != source_id))

    def _upsert(self, record_id: str, record: Mapping[str, Any]) -> Mapped:
        values = self._traits(record)
        if self._is_event:
            return self._event(record_id, record, values)
        return Mapped(key=record_id, body=self._body(record_id, values))

    def _body(self, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """The body of an upsert of `values` (checked and normalized in place)."""
        for trait in self._required:
            value = values.get(trait)
            if value is None or (isinstance(value, str) and not value.strip()):
                msg = f"required trait {trait!r} is missing or empty"
                raise InvalidRecordError(msg)
        for trait in self._email_traits:
            value = values.get(trait)
            if value is not None:
                if not isinstance(value, str) or not _EMAIL.match(value.strip()):
                    msg = f"trait {trait!r} is not an email address"
                    raise InvalidRecordError(msg)
                values[trait] = value.strip().lower()
        for trait in self._id_traits:
            value = values.get(trait)
            if value is not None:
                normalized = normalize_id(value)
                if normalized is None:
                    msg = f"trait {trait!r} holds no usable id"
                    raise InvalidRecordError(msg)
                values[trait] = normalized
        if self.payload_format == "traits":
            return {"id": record_id, "traits": values}
        values["id"] = record_id
        return values

    def _traits(self, record: Mapping[str, Any], unset: list[str] | None = None) -> dict[str, Any]:
        """The record's values by trait; the traits a null left out are added to `unset`."""
        clear = self._clear
        values: dict[str, Any] = {}
        if self.spec.all_fields:
            skip = self._skip
            for name, value in record.items():
                if name in skip or name.startswith(SDC_PREFIX):
                    continue
                if value is not None or clear:
                    values[name] = value
        links = self._links
        for trait, source in self._trait_items:
            if source in record:  # an absent field never clears a trait
                value = record[source]
                # A link the source emptied is cleared whatever null_policy says.
                if value is not None or clear or trait in links:
                    values[trait] = value
                elif unset is not None:
                    unset.append(trait)
        return values

    def _event(self, record_id: str, record: Mapping[str, Any], props: dict[str, Any]) -> Mapped:
        spec = self.spec
        event_type = spec.event_type
        if spec.event_type_field is not None:
            raw_type = record.get(spec.event_type_field)
            event_type = raw_type.strip() if isinstance(raw_type, str) else None
        if not event_type:
            msg = f"event type field {spec.event_type_field!r} is missing or empty"
            raise InvalidRecordError(msg)
        assert spec.link is not None  # set by _parse_event
        assert spec.link_field is not None
        owner = normalize_id(
            record.get(spec.link_field), lower=spec.link_field in EMAIL_FIELD_NAMES
        )
        if owner is None:
            msg = f"{spec.link} field {spec.link_field!r} is missing or empty"
            raise InvalidRecordError(msg)
        return Mapped(
            key=record_id, body={"type": event_type, spec.link: owner, "properties": props}
        )


def _first_set(values: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The first of `names` whose value is not None (a loop: cheaper than `next(genexpr)`)."""
    for name in names:
        value = values.get(name)
        if value is not None:
            return value
    return None


def bind(
    spec: MappingSpec,
    schema: Mapping[str, Any],
    key_properties: Sequence[str] | None,
    *,
    null_policy: NullPolicy = "omit",
    payload_format: Literal["flat", "traits"] = "flat",
) -> BoundMapping:
    """Check `spec` against the stream's SCHEMA; raise `MappingError` naming stream, field, fix."""
    keys = list(key_properties or [])
    id_field = spec.id_field
    if spec.kind == "retire":
        return _bind_retire(spec, schema, null_policy, payload_format)
    if spec.kind == "ignore":
        id_field = id_field or ""
    elif id_field is None:
        if len(keys) != 1:
            what = "no key properties" if not keys else f"key properties {keys}"
            msg = (
                f"stream {spec.stream!r} has {what}, so target-gather cannot tell which field "
                f"holds the Gather id. Fix: set {_where(spec.stream, 'id_field')} to the field "
                "holding it."
            )
            raise MappingError(msg)
        id_field = keys[0]
    if spec.kind != "ignore":
        _check_field(spec, schema, "id_field", id_field, id_like=True)
    properties = schema.get("properties", {})
    dropped = sorted(t for t in spec.optional_traits if spec.traits[t] not in properties)
    if dropped:
        traits = {t: f for t, f in spec.traits.items() if t not in dropped}
        spec = MappingSpec(**{**spec.__dict__, "traits": traits})
        logger.warning(
            "stream %r lacks the field(s) of built-in trait(s) %s: they are not sent",
            spec.stream,
            ", ".join(dropped),
        )
    for trait, source in spec.traits.items():
        _check_field(
            spec, schema, f"traits.{trait}", source, id_like=trait in ID_TRAITS.get(spec.kind, ())
        )
    if spec.event_type_field is not None:
        _check_field(spec, schema, "event_type_field", spec.event_type_field, id_like=False)
    if spec.link_field is not None:
        _check_field(spec, schema, f"{spec.link}_field", spec.link_field, id_like=True)
    if spec.all_fields:
        available = set(schema.get("properties", {}))
        missing = [r for r in spec.required if r not in spec.traits and r not in available]
        if missing:
            msg = (
                f"{_where(spec.stream)} maps to {spec.kind} with all_fields, but stream "
                f"{spec.stream!r} has no field {missing[0]!r}, which Gather requires. Fix: add "
                f"traits.{missing[0]} = <stream field>, or set required: []."
            )
            raise MappingError(msg)
    id_is_email = spec.id_is_email
    if id_is_email is None:
        id_is_email = id_field in EMAIL_FIELD_NAMES
    fields = _tracking_fields(spec, schema)
    source_id_field = fields["source_id_field"] if spec.kind in RECORD_KINDS else None
    return BoundMapping(
        spec=spec,
        id_field=id_field,
        id_is_email=id_is_email,
        null_policy=null_policy,
        payload_format=payload_format,
        source_id_field=source_id_field,
        merged_field=fields["merged_ids_field"] if source_id_field else None,
        portal_field=fields["portal_field"],
    )


def _tracking_fields(spec: MappingSpec, schema: Mapping[str, Any]) -> dict[str, str | None]:
    """The identity options that apply: a field the user named must exist; a built-in
    default whose field the schema lacks does not apply."""
    properties = schema.get("properties", {})
    found: dict[str, str | None] = {}
    for option in IDENTITY_OPTIONS:
        name = getattr(spec, option)
        if name is not None and option in spec.optional_identity and name not in properties:
            name = None
        if name is not None:
            _check_field(spec, schema, option, name, id_like=option != "merged_ids_field")
        found[option] = name
    return found


def _bind_retire(
    spec: MappingSpec,
    schema: Mapping[str, Any],
    null_policy: NullPolicy,
    payload_format: Literal["flat", "traits"],
) -> BoundMapping:
    fields = _tracking_fields(spec, schema)
    source_id_field = fields["source_id_field"]
    assert source_id_field is not None  # _parse_retire defaults it
    return BoundMapping(
        spec=spec,
        id_field=source_id_field,
        id_is_email=False,
        null_policy=null_policy,
        payload_format=payload_format,
        source_id_field=source_id_field,
        portal_field=fields["portal_field"],
    )
