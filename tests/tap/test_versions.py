"""The version table and the paths built from it (pure functions, no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_hubspot_gather.versions import (
    ALLOWED_API_VERSIONS,
    DEFAULT_API_VERSION,
    OAUTH_INTROSPECT_PATH,
    OAUTH_REVOKE_PATH,
    OAUTH_TOKEN_PATH,
    VERSIONS,
    UnknownApiVersionError,
    add_months,
    api_version,
    ends_paging,
    paths_for,
)


def test_default_is_the_current_version_and_v3_is_only_legacy() -> None:
    assert DEFAULT_API_VERSION == "2026-09"
    assert set(ALLOWED_API_VERSIONS) == {"2026-09", "2026-03", "v3"}
    assert api_version(None).name == "2026-09"
    assert api_version("").name == "2026-09"
    assert [v.name for v in VERSIONS.values() if v.legacy] == ["v3"]


@pytest.mark.parametrize("name", ["2025-09", "2026-09-beta", "V3", "v4", "latest"])
def test_an_unknown_version_is_refused_in_one_line_naming_the_allowed_ones(name: str) -> None:
    with pytest.raises(UnknownApiVersionError) as caught:
        api_version(name)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(name) in message
    for allowed in ALLOWED_API_VERSIONS:
        assert allowed in message


def test_supported_window_is_18_months_after_release() -> None:
    assert VERSIONS["2026-03"].released == dt.date(2026, 3, 30)
    assert VERSIONS["2026-03"].supported_until == dt.date(2027, 9, 30)
    assert VERSIONS["2026-09"].supported_until == dt.date(2028, 3, 8)
    assert VERSIONS["2026-03"].is_supported(dt.date(2027, 9, 29))
    assert not VERSIONS["2026-03"].is_supported(dt.date(2027, 9, 30))
    # Legacy ends on its announced date (v4 associations, the earliest), not by the rule.
    assert VERSIONS["v3"].supported_until == dt.date(2027, 3, 30)
    for version in VERSIONS.values():
        assert version.source.startswith("https://developers.hubspot.com/")


def test_add_months_clamps_to_the_end_of_a_short_month() -> None:
    assert add_months(dt.date(2026, 8, 31), 18) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)


def test_date_versioned_paths_put_the_version_after_the_api_name() -> None:
    paths = paths_for("2026-09")
    assert paths.objects("contacts") == "/crm/objects/2026-09/contacts"
    assert paths.object_by_id("companies", "42") == "/crm/objects/2026-09/companies/42"
    assert paths.search("contacts") == "/crm/objects/2026-09/contacts/search"
    assert paths.batch_read("companies") == "/crm/objects/2026-09/companies/batch/read"
    assert paths.properties("contacts") == "/crm/properties/2026-09/contacts"
    assert (
        paths.associations_batch_read("contacts", "companies")
        == "/crm/associations/2026-09/contacts/companies/batch/read"
    )
    assert paths.account_details() == "/account-info/2026-09/details"
    assert paths_for("2026-03").search("companies") == "/crm/objects/2026-03/companies/search"


def test_legacy_paths_are_the_v3_and_v4_ones() -> None:
    paths = paths_for("v3")
    assert paths.objects("contacts") == "/crm/v3/objects/contacts"
    assert paths.search("contacts") == "/crm/v3/objects/contacts/search"
    assert paths.batch_read("companies") == "/crm/v3/objects/companies/batch/read"
    assert paths.properties("companies") == "/crm/v3/properties/companies"
    assert (
        paths.associations_batch_read("contacts", "companies")
        == "/crm/v4/associations/contacts/companies/batch/read"
    )
    assert paths.account_details() == "/account-info/v3/details"


@pytest.mark.parametrize("name", ALLOWED_API_VERSIONS)
def test_oauth_is_on_the_2026_03_endpoints_whatever_the_crm_version(name: str) -> None:
    paths = paths_for(name)
    assert paths.oauth_token == OAUTH_TOKEN_PATH == "/oauth/2026-03/token"
    assert paths.oauth_introspect == OAUTH_INTROSPECT_PATH == "/oauth/2026-03/token/introspect"
    assert paths.oauth_revoke == OAUTH_REVOKE_PATH == "/oauth/2026-03/token/revoke"


def test_a_segment_is_escaped() -> None:
    assert paths_for(None).object_by_id("contacts", "a/b") == "/crm/objects/2026-09/contacts/a%2Fb"


@pytest.mark.parametrize(
    ("body", "last"),
    [
        ({"results": []}, True),
        ({"results": [], "paging": None}, True),
        ({"results": [], "paging": {}}, True),
        ({"results": [], "paging": {"next": {}}}, True),
        ({"results": [], "paging": {"next": None}}, True),
        ({"results": [], "paging": {"prev": {"before": "1"}}}, True),
        ({"results": [], "paging": {"next": {"after": "9"}}}, False),
        ({"results": [], "paging": {"next": {"after": "9", "link": "x"}}, "warnings": []}, False),
        ([], True),
    ],
)
def test_paging_ends_on_a_missing_or_empty_next(body: object, last: bool) -> None:
    assert ends_paging(body) is last
