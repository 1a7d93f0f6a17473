"""Every setting `--about` advertises is honoured; singer-sdk built-ins the target would ignore
are not advertised."""

from __future__ import annotations

import json
import subprocess

from singer_sdk.helpers import capabilities

from tests.target.conftest import COMPANIES_SCHEMA, TARGET, TargetHarness, company, state

# singer-sdk built-ins this target honours (through the SDK's mapper, or its own checkpointing).
HONOURED_BUILTINS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_size_rows",
}


def about() -> dict[str, object]:
    result = subprocess.run(
        [TARGET, "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_only_honoured_sdk_settings_are_advertised() -> None:
    settings = about()["settings"]
    assert isinstance(settings, dict)
    names = set(settings["properties"])
    assert "add_record_metadata" not in names
    assert "load_method" not in names
    builtins = names - {n for n in names if not _is_sdk_builtin(n)}
    assert builtins <= HONOURED_BUILTINS, builtins - HONOURED_BUILTINS


def _is_sdk_builtin(name: str) -> bool:
    known = set()
    for value in vars(capabilities).values():
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            known |= set(value["properties"])
    return name in known


def test_batch_size_rows_bounds_the_checkpoint_cadence(target_run: TargetHarness) -> None:
    messages = [COMPANIES_SCHEMA]
    for i in range(1, 7):
        messages += [company(str(i), f"Co {i}"), state(last=i)]

    run = target_run.run(messages, batch_size_rows=2, checkpoint_every_records=1000)

    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.states) >= 3  # a checkpoint every 2 records, not only at the end
