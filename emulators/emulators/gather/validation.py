"""Request bodies of the Gather API: decoding (JSON, form-encoded) and validation.

Gather documents form-encoded bodies with bracket notation (``properties[title]=...``) and
its official JS SDK sends JSON; both are accepted [DOC]+[SDK]. Records come flat
(``{"id": .., "name": ..}``, the help pages) or in the envelope gather-js 1.1.0 sends
(``{"id": .., "traits": {..}}``) [SDK]. Error bodies follow Django REST Framework, whose
conventions Gather's own clients expect [INT]: ``{"detail": ..}`` for request-level problems
and ``{"field": ["message"]}`` for invalid fields. Error messages use DRF's wording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Required traits per standard model; custom models need only `id` [DOC: installing-with-api,
# using-custom-models].
ID_FIELD = "id"
REQUIRED_TRAITS: dict[str, tuple[str, ...]] = {
    "account": ("name",),
    "user": ("first_name", "last_name", "email"),
}
TRAITS_ENVELOPE = "traits"
USER_MODEL = "user"

# DRF's messages, so clients written against Gather read familiar text.
REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_STRING = "Not a valid string."
BAD_EMAIL = "Enter a valid email address."
NO_DATA = "No data provided"

# A pragmatic shape check (one @, no spaces, a dot in the domain), used only when the
# `strict_email` switch is on: Gather's exact rule is not documented.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Our own cap on nested traits (Gather's is undocumented): deep enough for any real record,
# shallow enough that storing and echoing the value never hits Python's recursion limit.
MAX_NESTING = 100
# A JSON escape of a UTF-16 surrogate (\uD800-\uDFFF); pairs are fine, lone ones are not.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
BRACKET_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
BRACKET_PART = re.compile(r"\[([^\[\]]*)\]")


class BodyError(Exception):
    """The body cannot be read at all: answered with ``{"detail": message}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class FieldError(Exception):
    """The body was read but fields are invalid: answered 400 with ``{field: [messages]}``."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = dict(errors)


def media_type(content_type_header: str) -> str:
    """The bare media type of a Content-Type header, lower-cased."""
    return content_type_header.split(";", 1)[0].strip().lower()


def unsupported_media_type(mtype: str) -> BodyError:
    """DRF's 415 for a body in a media type the API does not parse."""
    return BodyError(415, f'Unsupported media type "{mtype}" in request.')


def _refuse_constant(name: str) -> Any:
    # DRF's STRICT_JSON (on by default) refuses NaN and the infinities, which are not JSON.
    msg = f"JSON parse error - Out of range float values are not JSON compliant: {name}"
    raise BodyError(400, msg)


def decode_json(raw: bytes) -> Any:
    """Parse a JSON body; malformed JSON, bad UTF-8, NaN or absurd nesting is a 400."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        msg = f"JSON parse error - the body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        raise BodyError(400, msg) from exc
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"JSON parse error - {exc}") from exc
    except RecursionError as exc:
        raise BodyError(400, _too_deep()) from exc
    if SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(value)
    return _shallow_enough(value)


def _refuse_lone_surrogates(value: Any) -> None:
    # `"\ud800"` parses to a str no UTF-8 encoder (nor SQLite) accepts: refuse it here.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        msg = f"JSON parse error - lone surrogate {bad} is not valid Unicode text"
        raise BodyError(400, msg) from exc


def _shallow_enough(value: Any) -> Any:
    if not nesting_within(value, MAX_NESTING):
        raise BodyError(400, _too_deep())
    return value


def _too_deep() -> str:
    return f"Parse error - the body is nested more than {MAX_NESTING} levels deep"


def nesting_within(value: Any, limit: int) -> bool:
    """Whether `value` nests no more than `limit` containers deep (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if depth > limit:
            return False
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def decode_form(raw: bytes, charset: str | None) -> dict[str, Any]:
    """Parse an ``application/x-www-form-urlencoded`` body, expanding bracket notation."""
    try:
        text = raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        msg = f"Form parse error - the body is not valid {charset or 'utf-8'} text"
        raise BodyError(400, msg) from exc
    form = expand_brackets(parse_qsl(text, keep_blank_values=True))
    _shallow_enough(form)
    return form


async def read_body(request: web.Request) -> Any:
    """The decoded body of a JSON, form-encoded or multipart request.

    An empty body reads as no fields whatever its media type (DRF does the same), so the
    caller answers with the missing fields; a body in any other media type is a 415.
    """
    mtype = media_type(request.headers.get("Content-Type", ""))
    if mtype == "multipart/form-data":
        form = await request.post()
        pairs: list[tuple[str, str]] = []
        for key, value in form.items():
            if not isinstance(value, str):
                raise BodyError(400, f"Multipart parse error - {key!r} is a file; send text fields")
            pairs.append((key, value))
        return _shallow_enough(expand_brackets(pairs))
    raw = await request.read()
    if not raw:
        return {}
    if mtype in JSON_TYPES or mtype.endswith("+json"):
        return decode_json(raw)
    if mtype == "application/x-www-form-urlencoded":
        return decode_form(raw, request.charset)
    raise unsupported_media_type(mtype)


def expand_brackets(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][c]=1`` becomes ``{"a": {"b": {"c": "1"}}}``; ``t[]=x`` appends to a list.

    A repeated plain key keeps its last value, as Django's ``QueryDict`` does.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        match = BRACKET_KEY.match(key)
        if match is None:
            result[key] = value
            continue
        path = [match.group(1), *BRACKET_PART.findall(match.group(2))]
        _assign(result, path, value, key)
    return result


def _assign(target: dict[str, Any], path: list[str], value: str, key: str) -> None:
    node: Any = target
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        following = None if last else path[depth + 1]
        if part == "":
            if not isinstance(node, list):
                raise FieldError({key: ["Cannot mix `[]` with named keys at this level."]})
            if last:
                node.append(value)
                return
            child: Any = [] if following == "" else {}
            node.append(child)
            node = child
            continue
        if not isinstance(node, dict):
            raise FieldError({key: ["Cannot mix `[]` with named keys at this level."]})
        if last:
            node[part] = value
            return
        wanted: type = list if following == "" else dict
        existing = node.get(part)
        if existing is None or not isinstance(existing, (dict, list)):
            if existing is not None:
                raise FieldError({key: [f"`{part}` is both a value and a nested object."]})
            node[part] = wanted()
        elif not isinstance(existing, wanted):
            raise FieldError({key: [f"`{part}` is both a list and a nested object."]})
        node = node[part]


def require_object(body: Any) -> dict[str, Any]:
    """A record or event body must be a JSON object (DRF's non-field error otherwise)."""
    if body is None:
        raise FieldError({"non_field_errors": [NO_DATA]})
    if not isinstance(body, dict):
        kind = type(body).__name__
        msg = f"Invalid data. Expected a dictionary, but got {kind}."
        raise FieldError({"non_field_errors": [msg]})
    return body


def as_string(value: Any) -> str | None:
    """DRF ``CharField`` coercion: strings and numbers become text, anything else is None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class RecordRules:
    """Switches that change how strictly records are validated (see the admin config)."""

    require_traits_on_update: bool = False
    strict_email: bool = False


@dataclass
class RecordWrite:
    """A validated record write: the id and the traits to merge (``id`` not among them)."""

    id: str
    traits: dict[str, Any] = field(default_factory=dict)


class _Missing:
    """Marks an absent field (``None`` means an explicit null)."""


MISSING = _Missing()


def split_record(body: Any) -> tuple[Any, dict[str, Any]]:
    """The raw id (`MISSING` when absent) and the traits of a flat or enveloped record body."""
    data = require_object(body)
    envelope = data.get(TRAITS_ENVELOPE)
    if not isinstance(envelope, dict):
        traits = {k: v for k, v in data.items() if k != ID_FIELD}
        return data.get(ID_FIELD, MISSING), traits
    extra = sorted(set(data) - {ID_FIELD, TRAITS_ENVELOPE})
    if extra:
        msg = (
            'Send traits either flat or inside "traits", not both; unexpected top-level '
            f"keys next to traits: {', '.join(extra)}"
        )
        raise FieldError({"non_field_errors": [msg]})
    traits = dict(envelope)
    raw_id = data.get(ID_FIELD, MISSING)
    if ID_FIELD in traits:
        inner = traits.pop(ID_FIELD)
        if raw_id is MISSING:
            raw_id = inner
        elif as_string(inner) != as_string(raw_id):
            raise FieldError({ID_FIELD: ['"id" inside "traits" differs from the top-level id.']})
    return raw_id, traits


def check_id(raw_id: Any, errors: dict[str, list[str]]) -> str | None:
    """Validate a record id (required, not null, not blank, text or number)."""
    if raw_id is MISSING:
        errors[ID_FIELD] = [REQUIRED]
        return None
    return _check_text(ID_FIELD, raw_id, errors)


def _check_text(name: str, value: Any, errors: dict[str, list[str]]) -> str | None:
    if value is None:
        errors[name] = [NOT_NULL]
        return None
    text = as_string(value)
    if text is None:
        errors[name] = [NOT_STRING]
        return None
    if not text.strip():
        errors[name] = [NOT_BLANK]
        return None
    return text


def validate_record(model: str, body: Any, *, creating: bool, rules: RecordRules) -> RecordWrite:
    """Validate a record write for `model` (see `split_record` for the accepted shapes).

    Required traits must be present when the record is created; on update they may be
    absent (the stored values are kept) unless `rules.require_traits_on_update`. When
    present they must never be null or blank, so a write can never clear them.
    """
    raw_id, traits = split_record(body)
    errors: dict[str, list[str]] = {}
    record_id = check_id(raw_id, errors)
    if any(not name for name in traits):
        errors.setdefault("non_field_errors", []).append("Trait names may not be blank.")
    for name in REQUIRED_TRAITS.get(model, ()):
        if name not in traits:
            if creating or rules.require_traits_on_update:
                errors[name] = [REQUIRED]
            continue
        text = _check_text(name, traits[name], errors)
        if text is not None:
            traits[name] = text
    email = traits.get("email") if model == USER_MODEL else None
    bad_email = isinstance(email, str) and not EMAIL_PATTERN.match(email)
    if rules.strict_email and bad_email and "email" not in errors:
        errors["email"] = [BAD_EMAIL]
    if errors or record_id is None:
        raise FieldError(errors)
    return RecordWrite(id=record_id, traits=traits)


def peek_record_id(body: Any) -> str | None:
    """The record id of a body if it is a valid one (decides create vs update rules)."""
    try:
        raw_id, _ = split_record(body)
    except FieldError:
        return None
    text = as_string(raw_id) if raw_id is not MISSING else None
    return text if text is not None and text.strip() else None


@dataclass(frozen=True)
class EventWrite:
    """A validated event: its type, exactly one of user/account, and its properties."""

    type: str
    user: str | None
    account: str | None
    properties: dict[str, Any]


EVENT_SUBJECTS = ("user", "account")


def validate_event(body: Any) -> EventWrite:
    """``type`` is required; exactly one of ``user`` / ``account``; ``properties`` an object.

    [DOC] installing-with-api + [SDK] gather-js (never sends both user and account).
    """
    data = require_object(body)
    errors: dict[str, list[str]] = {}
    event_type = _check_text("type", data["type"], errors) if "type" in data else None
    if "type" not in data:
        errors["type"] = [REQUIRED]
    subjects: dict[str, str | None] = {"user": None, "account": None}
    given = [name for name in EVENT_SUBJECTS if data.get(name) is not None]
    if len(given) != 1:
        msg = 'Send exactly one of "user" or "account".'
        errors.setdefault("non_field_errors", []).append(msg)
    for name in given:
        subjects[name] = _check_text(name, data[name], errors)
    properties = data.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        kind = type(properties).__name__
        errors["properties"] = [f'Expected a dictionary of items but got type "{kind}".']
    if errors or event_type is None:
        raise FieldError(errors)
    return EventWrite(event_type, subjects["user"], subjects["account"], properties)
