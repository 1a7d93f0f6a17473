"""The emulator's tunable behaviour: HubSpot's limits and the uncertain parts of its contract.

Every knob has HubSpot's documented (or observed) value as its default, with the source in a
comment, and can be changed at run time through ``PUT /_emulator/config`` so tests can shrink
windows and limits to seconds and counts they can afford.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

CapRule = Literal["after", "after_plus_limit"]
OverLimit = Literal["clamp", "error"]


MS_PER_DAY = 86_400_000


class ConfigError(ValueError):
    """A config change given to the admin API is malformed."""


@dataclass
class EmulatorConfig:
    """Run-time settings; ``None`` on a limit disables it."""

    # Burst limit per token per rolling window: 190 / 10 s for Professional and Enterprise
    # private apps (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
    burst_limit: int | None = 190
    burst_window_ms: int = 10_000
    # Search: "five requests per second per account" (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
    search_per_second: int | None = 5
    # Daily limit per account: 1,000,000 for Enterprise (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
    daily_limit: int | None = 1_000_000
    # HubSpot "does not always include the Retry-After header" on 429 (Airbyte's HubSpot
    # source BEHAVIOR.md section 9, https://github.com/airbytehq/airbyte/pull/74046).
    retry_after: bool = False
    # Recent writes stay invisible to search for this many seconds ("Limits" in
    # https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
    search_index_lag_s: float = 0.0
    # Longest request target (path + query) accepted before 414; ~8 KB observed
    # (https://github.com/airbytehq/airbyte/issues/33976).
    max_url_length: int = 8_192
    # Share of `date` values rendered as epoch-ms strings (https://github.com/airbytehq/airbyte/pull/10576).
    epoch_ms_date_share: float = 0.0
    # Which property types the epoch-ms share applies to (`date`, optionally `datetime`).
    epoch_ms_date_types: list[str] = field(default_factory=lambda: ["date"])
    # Search paging cap: 10,000 results ("Limits" in https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm);
    # the exact rule is uncertain: "after" refuses after >= cap (observed in
    # https://github.com/HubSpot/hubspot-api-nodejs/issues/132), "after_plus_limit" refuses
    # after + limit > cap.
    search_result_cap: int = 10_000
    search_cap_rule: CapRule = "after"
    # List page size: default 10, max 100 (https://developers.hubspot.com/docs/api/crm/contacts);
    # behaviour above the max is uncertain.
    list_limit_max: int = 100
    list_limit_over_max: OverLimit = "clamp"
    # Search page size max 200 (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
    search_limit_max: int = 200
    # HubSpot sometimes answers a search page with fewer than `limit` results yet still gives
    # `paging.next` (https://github.com/airbytehq/airbyte/pull/80744). When set, every search
    # page holds at most this many results and the next page continues after them; None: off.
    short_search_pages: int | None = None
    # Batch read: 100 inputs ("Limits" in https://developers.hubspot.com/docs/api/crm/contacts);
    # association batch read: 1,000
    # (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api).
    batch_read_max: int = 100
    association_batch_max: int = 1_000
    # Filter limits: 5 groups, 6 filters each, 18 in total (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
    search_max_filter_groups: int = 5
    search_max_filters_per_group: int = 6
    search_max_filters_total: int = 18
    # OAuth access token lifetime: 1800 s in practice (Airbyte's BEHAVIOR.md section 8, https://github.com/airbytehq/airbyte/pull/74046).
    oauth_token_lifetime_s: float = 1800.0
    # Merging mints a new record with a new id, both old ids resolving to it (HubSpot's current
    # behaviour: https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies);
    # false: the legacy behaviour, the primary keeps its id and the other id is gone.
    merge_new_id: bool = True
    # Whether a contact whose primary company changes (re-pointed, or its company archived,
    # merged or deleted) gets a new modified date. HubSpot does not document it either way
    # (https://github.com/airbytehq/airbyte/issues/14390): false shows the worst case.
    association_changes_touch_contacts: bool = True
    # Archived records stay restorable for 90 days, then HubSpot purges them
    # (https://github.com/airbytehq/airbyte/pull/48512).
    archive_retention_days: float = 90.0
    # Records carry `warnings[]` (PublicObjectWarning), which entered the record schemas of v3
    # and the date-versioned specs in June 2026 (HubSpot's spec collection,
    # https://github.com/HubSpot/HubSpot-public-api-spec-collection); when and why HubSpot sends
    # them is not documented, so it is a switch (off: no `warnings`).
    record_warnings: bool = False
    # The status of a batch read (objects or associations) that found only some inputs: 207
    # with `errors` per the specs; HubSpot's current associations docs show `errors` and
    # `numErrors` inside a 200 example
    # (https://developers.hubspot.com/docs/api-reference/2026-03/crm/associations/associate-records/batch/get-associations),
    # so 200 (same body) is the other choice a client must survive.
    batch_partial_status: int = 207
    # Whether the legacy APIs answer: /crm/v3/*, /crm/v4/associations/* and /oauth/v1/*
    # (HubSpot today: they "may still work"). False shows a portal after their announced
    # retirements: each answers a 404 naming its date-versioned replacement
    # (`emulators.hubspot.versions`).
    legacy_apis: bool = True
    # Whether a refresh-token grant answers with a new refresh token. HubSpot does not say
    # whether its 2026-03 token endpoint rotates them (it never did on v1); true lets clients be
    # tested against rotation: the old token then stops working after
    # `refresh_token_grace_s` seconds (0: at once), during which it still refreshes and the
    # answer carries its successor.
    refresh_token_rotation: bool = False
    refresh_token_grace_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The settings as the admin API shows them."""
        return asdict(self)

    def update(self, changes: Any) -> None:
        """Apply a partial JSON object of settings, refusing unknown names and wrong types."""
        if not isinstance(changes, dict):
            msg = "send a JSON object of config settings"
            raise ConfigError(msg)
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            msg = f"unknown config settings: {', '.join(unknown)}; known: {', '.join(known)}"
            raise ConfigError(msg)
        staged = EmulatorConfig(**{**self.to_json(), **changes})
        staged.validate()
        for name in changes:
            setattr(self, name, getattr(staged, name))

    def validate(self) -> None:
        """Refuse settings the emulator cannot honour."""
        problems: list[str] = []
        for name, least in (
            ("burst_limit", 0),
            ("search_per_second", 0),
            ("daily_limit", 0),
            ("short_search_pages", 1),
        ):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < least
            ):
                kind = "positive" if least else "non-negative"
                problems.append(f"{name} must be a {kind} integer or null")
        for name in (
            "burst_window_ms",
            "max_url_length",
            "search_result_cap",
            "list_limit_max",
            "search_limit_max",
            "batch_read_max",
            "association_batch_max",
            "search_max_filter_groups",
            "search_max_filters_per_group",
            "search_max_filters_total",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a positive integer")
        if not isinstance(self.epoch_ms_date_share, (int, float)) or not (
            0.0 <= self.epoch_ms_date_share <= 1.0
        ):
            problems.append("epoch_ms_date_share must be a number between 0 and 1")
        if not isinstance(self.epoch_ms_date_types, list) or not set(self.epoch_ms_date_types) <= {
            "date",
            "datetime",
        }:
            problems.append('epoch_ms_date_types must be a list of "date" and/or "datetime"')
        problems += self._choice_problems()
        if problems:
            raise ConfigError("; ".join(problems))

    def _choice_problems(self) -> list[str]:
        """Problems of the enumerated, boolean and duration settings."""
        problems: list[str] = []
        if self.search_cap_rule not in ("after", "after_plus_limit"):
            problems.append('search_cap_rule must be "after" or "after_plus_limit"')
        if self.batch_partial_status not in (200, 207):
            problems.append("batch_partial_status must be 207 or 200")
        if self.list_limit_over_max not in ("clamp", "error"):
            problems.append('list_limit_over_max must be "clamp" or "error"')
        for name in (
            "search_index_lag_s",
            "oauth_token_lifetime_s",
            "archive_retention_days",
            "refresh_token_grace_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                unit = "days" if name.endswith("_days") else "seconds"
                problems.append(f"{name} must be a non-negative number of {unit}")
        problems.extend(
            f"{name} must be true or false"
            for name in (
                "retry_after",
                "merge_new_id",
                "association_changes_touch_contacts",
                "record_warnings",
                "refresh_token_rotation",
                "legacy_apis",
            )
            if not isinstance(getattr(self, name), bool)
        )
        return problems

    @property
    def archive_retention_ms(self) -> int:
        """The archive retention in milliseconds."""
        return int(self.archive_retention_days * MS_PER_DAY)

    @classmethod
    def unlimited(cls) -> EmulatorConfig:
        """Defaults without rate limits (benchmarks, tests that are not about limits)."""
        return cls(burst_limit=None, search_per_second=None, daily_limit=None)
