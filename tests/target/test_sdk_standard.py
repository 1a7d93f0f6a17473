"""The singer-sdk standard target test suite, run in-process against the Gather emulator.

The suite feeds the SDK's sample streams (`singer_sdk/testing/target_test_streams`). Most have
no Gather meaning, so they go to one custom model through the wildcard mapping; streams without
key properties get an explicit `id_field` (without one the target refuses them, naming it), and
the one whose only fields are nested objects is ignored on purpose (`false`): no field of it can
be a Gather id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class

from emulators.common.server import BackgroundServer
from emulators.gather.app import make_app
from target_gather.target import TargetGather

API_KEY = "sdk-suite-key-not-a-secret"
SDK_MODEL = {"kind": "custom", "model_id": "sdk_suite", "all_fields": True}
CONFIG: dict[str, Any] = {
    "api_key": API_KEY,
    "max_retries": 1,
    "backoff_base_s": 0.01,
    "backoff_max_s": 0.05,
    "mappings": {
        "*": SDK_MODEL,
        "test_no_pk": {**SDK_MODEL, "id_field": "id"},
        "example_stream": {**SDK_MODEL, "id_field": "id"},  # pk_updates: keys inside schema
        "test_record_missing_required_property": {**SDK_MODEL, "id_field": "id"},
        # singer-sdk 0.55: keyless, and refused without an id_field (the error names the fix).
        "string_formats": {**SDK_MODEL, "id_field": "uuid"},
        "test_object_schema_with_properties": False,
        "test_object_schema_no_properties": False,
    },
}

StandardTargetTests = get_target_test_class(TargetGather, config=CONFIG)


class TestTargetGatherStandard(StandardTargetTests):  # type: ignore[misc,valid-type]
    """The standard suite; each test gets the emulator URL and its own ledger files."""

    @pytest.fixture(autouse=True)
    def _gather(self, tmp_path: Path) -> Iterator[None]:
        server = BackgroundServer(make_app([API_KEY], tmp_path / "gather")).start()
        CONFIG.update(
            api_url=server.url,
            ledger_path=str(tmp_path / "ledger.sqlite3"),
            rejects_path=str(tmp_path / "rejects.jsonl"),
        )
        try:
            yield
        finally:
            server.stop()
