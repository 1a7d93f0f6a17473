"""The API key never leaks; plain http is refused for remote hosts."""

from __future__ import annotations

from tests.target.conftest import (
    COMPANIES_SCHEMA,
    CONTACTS_SCHEMA,
    TargetHarness,
    company,
    contact,
    record,
    schema,
    state,
)


def test_the_api_key_appears_in_no_output_even_at_debug_level(target_run: TargetHarness) -> None:
    key = target_run.emulator.api_key
    target_run.emulator.set_faults(
        [{"path": "^/models/account/records$", "status": 503, "times": 1}]
    )
    billing = schema("billing", {"account_id": "string", "plan": "string"}, ["account_id"])
    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("1", "Acme"),
            company("2", None),  # invalid
            CONTACTS_SCHEMA,
            contact(10),
            billing,
            record("billing", account_id="404", plan="x"),  # rejected by Gather
            state(n=1),
        ],
        env={"LOGLEVEL": "DEBUG"},
        mappings={"billing": {"kind": "account", "required": [], "traits": {"plan": "plan"}}},
        rejects_include_payload=True,
    )
    refused = target_run.run(
        [COMPANIES_SCHEMA, company("3")], api_key=f"{key}-revoked", env={"LOGLEVEL": "DEBUG"}
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert "DEBUG" in run.stderr
    assert run.counts("account")["retried"] == 1
    assert refused.returncode != 0
    outputs = {
        "stdout": run.stdout + refused.stdout,
        "stderr": run.stderr + refused.stderr,
        "rejects": target_run.rejects.read_text(encoding="utf-8"),
        "summary": target_run.summary.read_text(encoding="utf-8"),
    }
    for name, text in outputs.items():
        assert key not in text, f"the API key leaked into {name}"
    for path in target_run.root.glob("ledger.sqlite3*"):
        assert key.encode() not in path.read_bytes()


def test_plain_http_to_a_remote_host_is_refused_unless_allowed(target_run: TargetHarness) -> None:
    refused = target_run.run([COMPANIES_SCHEMA], api_url="http://gather.example.com")
    allowed = target_run.run(
        [COMPANIES_SCHEMA, company("1")],
        api_url="http://gather.example.com",
        allow_insecure_http=True,
        dry_run=True,
    )

    assert refused.returncode != 0
    assert (
        "target-gather: invalid config: api_url uses plain http:// to gather.example.com, which "
        "would send the API key unencrypted. Fix: use https://, or set allow_insecure_http"
    ) in refused.stderr
    assert allowed.returncode == 0, allowed.stderr[-3000:]


def test_a_missing_api_key_is_named_with_its_env_var(target_run: TargetHarness) -> None:
    run = target_run.run([COMPANIES_SCHEMA], api_key=None)

    assert run.returncode != 0
    assert "api_key is not set. Fix: set TARGET_GATHER_API_KEY" in run.stderr
