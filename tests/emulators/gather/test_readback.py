"""Our read-back extension: one record with _meta, paginated lists, event queries."""

from __future__ import annotations

import time

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import ACCOUNT, Api


def test_record_meta_counts_writes_and_keeps_created_at(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", ACCOUNT)
    first = api.get_record("account", "acct-1").json()["_meta"]
    time.sleep(0.002)
    api.upsert("account", {"id": "acct-1", "size": 5})
    api.upsert("account", {"id": "acct-1", "size": 6})
    record = api.get_record("account", "acct-1").json()
    assert record["size"] == 6
    assert record["_meta"]["writes"] == 3
    assert record["_meta"]["created_at"] == first["created_at"]
    assert record["_meta"]["updated_at"] > first["updated_at"]
    assert gather_emulator.record("account", "acct-1") == record


def test_unknown_record_is_404(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.get_record("account", "nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert gather_emulator.record("account", "nope") is None


def test_list_paginates_in_id_order(api: Api) -> None:
    for i in range(5):
        api.upsert("orders", {"id": f"o{i}", "n": i})
    first = api.get("/models/orders/records", params={"page_size": 2}).json()
    assert [r["id"] for r in first["results"]] == ["o0", "o1"]
    assert first["meta"] == {"total_results": 5, "total_pages": 3, "page": 1, "per_page": 2}
    last = api.get("/models/orders/records", params={"page_size": 2, "page": 3}).json()
    assert [r["id"] for r in last["results"]] == ["o4"]
    assert last["results"][0]["_meta"]["writes"] == 1
    beyond = api.get("/models/orders/records", params={"page_size": 2, "page": 9}).json()
    assert beyond["results"] == []


def test_list_rejects_bad_paging(api: Api) -> None:
    response = api.get("/models/orders/records", params={"page": "x"})
    assert response.status_code == 400
    assert response.json() == {"page": ["A valid integer is required."]}
    assert api.get("/models/orders/records", params={"page_size": 0}).status_code == 400
    assert api.get("/models/orders/records", params={"page_size": 1001}).status_code == 400


def test_list_filters_users_by_account_id_even_when_numeric(api: Api) -> None:
    user = {"first_name": "A", "last_name": "B", "email": "a@b.c"}
    api.upsert("user", {"id": "u1", **user, "account_id": 7})
    api.upsert("user", {"id": "u2", **user, "account_id": "7"})
    api.upsert("user", {"id": "u3", **user, "account_id": "8"})
    page = api.get("/models/user/records", params={"account_id": "7"}).json()
    assert [r["id"] for r in page["results"]] == ["u1", "u2"]
    assert page["meta"]["total_results"] == 2


def test_events_query_filters_by_user_account_and_type(api: Api) -> None:
    api.post("/events", json={"type": "page.viewed", "user": "u1"})
    api.post("/events", json={"type": "signup", "user": "u1"})
    api.post("/events", json={"type": "page.viewed", "account": "a1"})
    by_user = api.get("/events", params={"user": "u1"}).json()
    assert [e["type"] for e in by_user["results"]] == ["page.viewed", "signup"]
    by_type = api.get("/events", params={"type": "page.viewed"}).json()
    assert by_type["meta"]["total_results"] == 2
    by_account = api.get("/events", params={"account": "a1", "type": "page.viewed"}).json()
    assert [e["account"] for e in by_account["results"]] == ["a1"]
