"""A deterministic generator of realistic companies and contacts (and deals when asked).

The same options always give the same records, ids and timestamps (nothing depends on the wall
clock), so tests can compute expectations and benchmarks are repeatable. The data carries what
trips real pipelines: unicode and missing names, mixed-case and missing emails, internal IDs
present on only a share of records, a legacy ID with duplicates, 0-3 companies per contact,
`date` properties, optional junk in number properties and hundreds of extra custom properties.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from emulators.hubspot.model import Store
from emulators.hubspot.properties import (
    DATE_PROPERTY,
    DUPLICATE_ID_PROPERTY,
    UNIQUE_ID_PROPERTY,
    ObjectType,
    extra_property_name,
)
from emulators.hubspot.timeutil import iso_date, midnight_ms

# Seeded records are created between these instants (fixed, so output never depends on today).
SEED_START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
SEED_END_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z

FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Mateo",
    "Sofia",
    "Elias",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Chloé",
    "Björn",
    "Ольга",
    "美咲",
    "Nguyễn",
    "Aïsha",
    "François",
    "Dvořák",
    "Renée",
    "Jürgen",
    "Siobhán",
    "Ümit",
    "María José",
    "O'Brien",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Garcia",
    "Müller",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Okafor",
    "Tanaka",
    "Silva",
    "Nakamura",
    "Peña",
    "Østergaard",
    "Иванова",
    "田中",
    "Van der Berg",
    "O'Neill",
    "Ng",
    "Al-Farsi",
    "Schröder",
    "Łęcka",
    "García Márquez",
)
PLACES = (
    ("Berlin", "Germany"),
    ("München", "Germany"),
    ("Paris", "France"),
    ("Montréal", "Canada"),
    ("São Paulo", "Brazil"),
    ("Zürich", "Switzerland"),
    ("Kraków", "Poland"),
    ("Tokyo", "Japan"),
    ("New York", "United States"),
    ("Austin", "United States"),
    ("London", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Reykjavík", "Iceland"),
    ("København", "Denmark"),
    ("Lagos", "Nigeria"),
    ("Bengaluru", "India"),
    ("Sydney", "Australia"),
    ("Ciudad de México", "Mexico"),
)
COMPANY_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Nordwind",
    "Blåbær",
    "Soylent",
    "Stark",
    "Wayne",
    "Cyberdyne",
    "Tyrell",
    "Aperture",
    "Dunder",
    "Pied Piper",
    "Großmann",
    "Café Olé",
    "Kōbō",
    "Massive Dynamic",
)
COMPANY_SUFFIXES = ("Inc.", "GmbH", "Ltd", "SAS", "LLC", "AG", "KK", "S.A.", "")
INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL", "HOSPITAL_HEALTH_CARE")
LIFECYCLES = ("subscriber", "lead", "customer")
# How many companies a contact gets: 0-3, mostly one (weights for 0, 1, 2, 3).
COMPANY_COUNT_WEIGHTS = (10, 60, 20, 10)
# Creation times get up to a second of jitter; `date` properties fall within ~115 days after.
CREATE_JITTER_MS = 1_000
DATE_SPREAD_MS = 10**10
MAX_EMPLOYEES = 5_000
REVENUE_RANGE = (10_000, 50_000_000)


class SeedError(ValueError):
    """Seed options given to the admin API are malformed."""


@dataclass
class SeedOptions:
    """What to generate; every share is a probability per record."""

    companies: int = 10
    contacts: int = 50
    # Deals (a third object, for the tap's object declarations): none unless asked.
    deals: int = 0
    seed: int = 42
    custom_properties: int = 0
    # Share of records carrying the unique internal ID (gather_account_id / gather_user_id).
    id_share: float = 0.9
    # Share of records carrying the legacy (non-unique) ID, and of those reusing a value.
    duplicate_id_presence: float = 0.5
    duplicate_share: float = 0.05
    missing_name_share: float = 0.05
    missing_email_share: float = 0.05
    mixed_case_email_share: float = 0.3
    # Share of records with a value in each generated custom property.
    custom_value_share: float = 0.3
    # Share of number values replaced by junk such as "N/A" (observed in real portals).
    junk_number_share: float = 0.0
    # Largest gap between consecutive ids (1 = contiguous ids).
    id_gap_max: int = 3

    @classmethod
    def from_json(cls, data: Any) -> SeedOptions:
        """Options from the admin API, refusing unknown keys and impossible values."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            msg = "seed options must be a JSON object"
            raise SeedError(msg)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"epoch_ms_date_share"})
        if unknown:
            msg = f"unknown seed options: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            raise SeedError(msg)
        options = cls(**{k: v for k, v in data.items() if k in known})
        options.validate()
        return options

    def validate(self) -> None:
        """Refuse negative counts and shares outside 0..1."""
        for name in ("companies", "contacts", "deals", "custom_properties"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                msg = f"{name} must be a non-negative integer"
                raise SeedError(msg)
        if not isinstance(self.id_gap_max, int) or self.id_gap_max < 1:
            msg = "id_gap_max must be an integer >= 1"
            raise SeedError(msg)
        for name, value in asdict(self).items():
            if name.endswith(("_share", "_presence")) and not (
                isinstance(value, (int, float)) and 0.0 <= value <= 1.0
            ):
                msg = f"{name} must be a number between 0 and 1"
                raise SeedError(msg)


def _timestamps(rng: random.Random, index: int, total: int) -> tuple[int, int]:
    """Creation ascending with the index; modification some time after creation."""
    span = SEED_END_MS - SEED_START_MS
    created = SEED_START_MS + (span * index) // max(total, 1) + rng.randrange(CREATE_JITTER_MS)
    updated = created + rng.randrange(max(SEED_END_MS - created, 1))
    return created, updated


def _email(rng: random.Random, first: str, last: str, n: int, mixed: float) -> str:
    local = "".join(ch for ch in f"{first}.{last}" if ch.isascii() and (ch.isalnum() or ch == "."))
    local = local.strip(".") or "user"
    domain = rng.choice(("example.com", "example.org", "mail.example.net", "corp.example.de"))
    email = f"{local}{n}@{domain}"
    return email if rng.random() >= mixed else email.title()


def seed_store(store: Store, options: SeedOptions) -> None:
    """Fill an empty store with the generated companies and contacts."""
    rng = random.Random(options.seed)
    company_ids = [_seed_company(store, rng, options, i) for i in range(options.companies)]
    for i in range(options.contacts):
        _seed_contact(store, rng, options, i, company_ids)
    for i in range(options.deals):  # last: seeding deals leaves the others' values as they were
        _seed_deal(store, rng, options, i)


def _legacy_ref(rng: random.Random, options: SeedOptions, prefix: str, i: int) -> str | None:
    if rng.random() >= options.duplicate_id_presence:
        return None
    if i > 0 and rng.random() < options.duplicate_share:
        return f"{prefix}-{rng.randrange(i):05d}"  # reuses an earlier record's value
    return f"{prefix}-{i:05d}"


# Per object: the prefix of its unique internal ID values and of its legacy (duplicated) ones.
ID_PREFIXES: dict[ObjectType, tuple[str, str]] = {
    "companies": ("A", "LA"),
    "contacts": ("U", "LU"),
    "deals": ("D", "LD"),
}


def _ids_and_extras(
    rng: random.Random,
    options: SeedOptions,
    values: dict[str, Any],
    object_type: ObjectType,
    i: int,
) -> None:
    """The record's unique ID, legacy ID and custom property values, by the options' shares."""
    unique, legacy_prefix = ID_PREFIXES[object_type]
    if rng.random() < options.id_share:
        values[UNIQUE_ID_PROPERTY[object_type]] = f"{unique}-{i + 1:06d}"
    legacy = _legacy_ref(rng, options, legacy_prefix, i)
    if legacy is not None:
        values[DUPLICATE_ID_PROPERTY[object_type]] = legacy
    for j in range(options.custom_properties):
        if rng.random() < options.custom_value_share:
            values[extra_property_name(j)] = f"value {rng.randrange(10_000)}"


def _seed_company(store: Store, rng: random.Random, options: SeedOptions, i: int) -> int:
    created, updated = _timestamps(rng, i, options.companies)
    word = rng.choice(COMPANY_WORDS)
    suffix = rng.choice(COMPANY_SUFFIXES)
    city, country = rng.choice(PLACES)
    slug = "".join(ch for ch in word.lower() if ch.isascii() and ch.isalnum()) or "company"
    values: dict[str, Any] = {
        "domain": f"{slug}{i}.example.com",
        "city": city,
        "country": country,
        "industry": rng.choice(INDUSTRIES),
        "numberofemployees": str(rng.randrange(1, MAX_EMPLOYEES)),
        "annualrevenue": str(rng.randrange(*REVENUE_RANGE)),
        DATE_PROPERTY["companies"]: iso_date(midnight_ms(created + rng.randrange(DATE_SPREAD_MS))),
    }
    if rng.random() >= options.missing_name_share:
        values["name"] = f"{word} {suffix}".strip() + ("" if i < len(COMPANY_WORDS) else f" {i}")
    if rng.random() < options.junk_number_share:
        values["numberofemployees"] = rng.choice(("N/A", "unknown", "1,000"))
    _ids_and_extras(rng, options, values, "companies", i)
    gap = rng.randint(1, options.id_gap_max)
    record = store.create("companies", values, created_ms=created, updated_ms=updated, id_gap=gap)
    return record.id


def _seed_contact(
    store: Store, rng: random.Random, options: SeedOptions, i: int, company_ids: list[int]
) -> None:
    created, updated = _timestamps(rng, i, options.contacts)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, country = rng.choice(PLACES)
    values: dict[str, Any] = {
        "city": city,
        "country": country,
        "lifecyclestage": rng.choice(LIFECYCLES),
        "jobtitle": rng.choice(("CTO", "Engineer", "Head of Data", "Analyst", "Gründer")),
        DATE_PROPERTY["contacts"]: iso_date(midnight_ms(created + rng.randrange(DATE_SPREAD_MS))),
    }
    if rng.random() >= options.missing_name_share:
        values["firstname"] = first
    if rng.random() >= options.missing_name_share:
        values["lastname"] = last
    if rng.random() >= options.missing_email_share:
        values["email"] = _email(rng, first, last, i, options.mixed_case_email_share)
    _ids_and_extras(rng, options, values, "contacts", i)
    how_many = rng.choices(range(4), weights=COMPANY_COUNT_WEIGHTS)[0] if company_ids else 0
    chosen = rng.sample(company_ids, min(how_many, len(company_ids)))
    gap = rng.randint(1, options.id_gap_max)
    store.create(
        "contacts",
        values,
        created_ms=created,
        updated_ms=updated,
        id_gap=gap,
        company_ids=chosen,
        primary_company_id=chosen[0] if chosen else None,
    )


DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost")
MAX_DEAL_AMOUNT = 100_000


def _seed_deal(store: Store, rng: random.Random, options: SeedOptions, i: int) -> None:
    created, updated = _timestamps(rng, i, options.deals)
    values: dict[str, Any] = {
        "pipeline": "default",
        "dealstage": rng.choice(DEAL_STAGES),
        "amount": str(rng.randrange(1, MAX_DEAL_AMOUNT)),
        DATE_PROPERTY["deals"]: iso_date(midnight_ms(created + rng.randrange(DATE_SPREAD_MS))),
    }
    if rng.random() >= options.missing_name_share:
        values["dealname"] = f"Deal {i + 1}"
    _ids_and_extras(rng, options, values, "deals", i)
    gap = rng.randint(1, options.id_gap_max)
    store.create("deals", values, created_ms=created, updated_ms=updated, id_gap=gap)
