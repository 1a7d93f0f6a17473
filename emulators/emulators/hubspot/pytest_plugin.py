"""pytest fixtures for the HubSpot emulator (registered by the project's `tests/conftest.py`).

Fixtures:

- ``hubspot_emulator`` (function scope): an in-process emulator on a free loopback port with a
  fresh, empty portal and HubSpot's default limits. Yields a `HubSpotEmulator` with ``.url``,
  ``.token`` (a private-app token it accepts), ``.oauth_client`` (an `OAuthClient` it accepts)
  and typed helpers over the admin API: ``seed(companies=, contacts=, seed=, ...)``,
  ``create(type, properties, company_ids=, primary_company_id=)``, ``update``, ``archive``,
  ``merge(type, primary, merged, new_id=)``, ``purge`` (permanent delete), ``time_travel``,
  ``touch``, ``dump``, ``stats``, ``reset_stats``, ``set_config(**settings)``,
  ``unlimit()`` (no rate limits), ``set_faults(rules)`` / ``add_faults`` / ``clear_faults``,
  ``expire_tokens()``, ``add_credentials``, ``create_service_key(scopes)`` /
  ``delete_service_key``, ``reset()``, ``hub_id`` and ``auth_headers``.
- ``hubspot_emulator_module`` (module scope): the same, shared by a module's tests (never reset
  for you: call ``reset()`` or ``seed()`` yourself).
- ``hubspot_emulator_process`` (function scope): a factory
  ``start(*cli_args, env=None, **options)`` that runs ``python -m emulators.hubspot.cli`` as a
  subprocess on a free port (for tests that SIGKILL it) and returns a
  `HubSpotEmulatorProcess` (same helpers, plus ``.proc``, ``.kill()``, ``.terminate()``);
  every process it started is stopped at teardown.
- ``hubspot_emulator_factory`` (function scope): a factory ``start(**options)`` for more
  in-process emulators (two portals side by side); all are stopped at teardown.

Fixture options: mark a test, class or module with
``@pytest.mark.hubspot_emulator(hub_id=..., legacy_apis=...)`` to start ``hubspot_emulator``,
``hubspot_emulator_module`` and the ``hubspot_emulator_process`` / ``hubspot_emulator_factory``
emulators with those options (the factories also take them as keywords, which win). A
directory's conftest may override the ``hubspot_emulator_defaults`` fixture (a dict of
options) to change the defaults under it; markers still win over it.

- ``hub_id``: the portal's hub id (default `HUB_ID`), in OAuth answers, token
  introspection, the consent page and the account details.
- ``legacy_apis``: whether `/crm/v3`, `/crm/v4/associations` and `/oauth/v1` answer (True)
  or are retired, answering HubSpot's sunset 404 (False). Default: `DEFAULT_LEGACY_APIS`.

Webhooks journal: the admin client also has ``set_journal(**settings)``,
``journal_settings()``, ``publish_journal()``, ``journal_files()``, ``journal_events()``,
``restore(type, id)`` and ``privacy_delete(type, id)`` (`emulators.hubspot.journal_admin`);
``@pytest.mark.hubspot_journal(**settings)`` starts ``hubspot_emulator`` /
``hubspot_emulator_module`` with those journal settings (`JournalSettings`).

Admin helpers raise `AdminCallError` (with the emulator's message) on a 4xx/5xx answer.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from emulators.common.server import BackgroundServer
from emulators.hubspot.app import make_app
from emulators.hubspot.auth import OAuthClient
from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.journal_admin import JournalAdmin, apply_journal_marker, register_marker
from emulators.hubspot.portal import HUB_ID

EMULATOR_TOKEN = "pat-na1-emulator-test-token"  # noqa: S105 - a fixture credential, not a secret
EMULATOR_OAUTH_CLIENT = OAuthClient(
    "emulator-client-id", "emulator-client-secret", "emulator-refresh-token"
)
ADMIN = "/_emulator"
# The marker carrying fixture options, and the options it takes.
MARKER = "hubspot_emulator"
OPTIONS = ("hub_id", "legacy_apis")
# Whether the fixtures' emulators serve the legacy APIs (/crm/v3, /crm/v4/associations,
# /oauth/v1). The one default of every fixture and of `HubSpotEmulator.start`: retired, since
# the plugins use only the date-versioned APIs (a test of `api_version: v3` turns them on).
DEFAULT_LEGACY_APIS = False
START_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 60.0


class AdminCallError(RuntimeError):
    """The admin API refused a call; the message is the emulator's explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"admin API answered {status}: {message}")
        self.status = status


def _record_body(
    properties: Mapping[str, Any] | None,
    company_ids: Sequence[str | int] | None,
    primary_company_id: str | int | None,
) -> dict[str, Any]:
    """The admin API's body for creating or updating a record."""
    body: dict[str, Any] = {"properties": dict(properties or {})}
    if company_ids is not None:
        body["company_ids"] = [str(i) for i in company_ids]
    if primary_company_id is not None:
        body["primary_company_id"] = str(primary_company_id)
    return body


class AdminClient(JournalAdmin):
    """Typed helpers over the admin API of an emulator at `url` (journal ones included)."""

    def __init__(self, url: str, token: str, oauth_client: OAuthClient) -> None:
        self.url = url
        self.token = token
        self.oauth_client = oauth_client

    @property
    def auth_headers(self) -> dict[str, str]:
        """`Authorization` header for the private-app token."""
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One admin call; returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback URL we started
            self.url + ADMIN + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text
            raise AdminCallError(exc.code, message) from None

    @property
    def hub_id(self) -> int:
        """The emulated portal's hub id."""
        hub_id: int = self.call("GET", "/portal")["hub_id"]
        return hub_id

    def reset(self) -> None:
        """Empty portal, no faults, zero stats and rate windows (config and tokens stay)."""
        self.call("POST", "/reset")

    def seed(self, **options: Any) -> dict[str, Any]:
        """Replace the data with generated records (see `SeedOptions`); returns counts/ids."""
        result: dict[str, Any] = self.call("POST", "/seed", options)
        return result

    def create(
        self,
        object_type: str,
        properties: Mapping[str, Any] | None = None,
        *,
        company_ids: Sequence[str | int] | None = None,
        primary_company_id: str | int | None = None,
    ) -> dict[str, Any]:
        """Create a record; returns its dump (``id`` is the new HubSpot id)."""
        body = _record_body(properties, company_ids, primary_company_id)
        result: dict[str, Any] = self.call("POST", f"/objects/{object_type}", body)
        return result

    def update(
        self,
        object_type: str,
        record_id: str | int,
        properties: Mapping[str, Any] | None = None,
        *,
        company_ids: Sequence[str | int] | None = None,
        primary_company_id: str | int | None = None,
    ) -> dict[str, Any]:
        """Change properties (None clears) and/or a contact's companies; bumps modified."""
        body = _record_body(properties, company_ids, primary_company_id)
        result: dict[str, Any] = self.call("PATCH", f"/objects/{object_type}/{record_id}", body)
        return result

    def archive(self, object_type: str, record_id: str | int) -> dict[str, Any]:
        """Move a record to the archived listing."""
        result: dict[str, Any] = self.call("POST", f"/objects/{object_type}/{record_id}/archive")
        return result

    def merge(
        self,
        object_type: str,
        primary_id: str | int,
        merged_id: str | int,
        *,
        new_id: bool | None = None,
    ) -> dict[str, Any]:
        """Merge two records; returns the result (a new record with a new id when `new_id`,
        HubSpot's current behaviour; the primary when not; None: the `merge_new_id` config)."""
        body: dict[str, Any] = {"primary_id": str(primary_id), "merged_id": str(merged_id)}
        if new_id is not None:
            body["new_id"] = new_id
        result: dict[str, Any] = self.call("POST", f"/objects/{object_type}/merge", body)
        return result

    def purge(self, object_type: str, record_id: str | int) -> None:
        """Delete a record permanently (active or archived), as a GDPR delete does."""
        self.call("POST", f"/objects/{object_type}/{record_id}/purge")

    def time_travel(self, *, days: float = 0, seconds: float = 0) -> int:
        """Make every stored moment that much older; returns how many archives expired."""
        result: dict[str, Any] = self.call(
            "POST", "/time-travel", {"days": days, "seconds": seconds}
        )
        purged: int = result["purged"]
        return purged

    def touch(
        self,
        object_type: str,
        *,
        ids: Sequence[str | int] | None = None,
        count: int | None = None,
        timestamp: str | int | None = None,
    ) -> int:
        """Give records (the ids, else all or the first `count`) one modified timestamp."""
        body: dict[str, Any] = {"all": True} if ids is None else {"ids": [str(i) for i in ids]}
        if count is not None:
            body["count"] = count
        if timestamp is not None:
            body["timestamp"] = timestamp
        touched: int = self.call("POST", f"/objects/{object_type}/touch", body)["touched"]
        return touched

    def dump(self, object_type: str, archived: str = "false") -> list[dict[str, Any]]:
        """Every record (`archived`: false, true or any) with properties and associations."""
        results: list[dict[str, Any]] = self.call(
            "GET", f"/objects/{object_type}?archived={archived}"
        )["results"]
        return results

    def stats(self) -> dict[str, Any]:
        """Request counts: ``{"total", "routes": {"GET /crm/...": {"total", "by_status"}}}``."""
        result: dict[str, Any] = self.call("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        """Zero the request counts."""
        self.call("POST", "/stats/reset")

    def config(self) -> dict[str, Any]:
        """The current settings."""
        result: dict[str, Any] = self.call("GET", "/config")
        return result

    def set_config(self, **settings: Any) -> dict[str, Any]:
        """Change settings (see `EmulatorConfig`); returns all of them."""
        result: dict[str, Any] = self.call("PUT", "/config", settings)
        return result

    def unlimit(self) -> None:
        """Turn off the burst, search and daily limits."""
        self.set_config(burst_limit=None, search_per_second=None, daily_limit=None)

    def set_faults(self, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Replace the fault plan (rules as in `emulators.common.faults.FaultRule`)."""
        result: list[dict[str, Any]] = self.call("PUT", "/faults", list(rules))["rules"]
        return result

    def add_faults(self, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Append fault rules."""
        result: list[dict[str, Any]] = self.call("POST", "/faults", list(rules))["rules"]
        return result

    def faults(self) -> list[dict[str, Any]]:
        """The fault plan with its counters."""
        result: list[dict[str, Any]] = self.call("GET", "/faults")["rules"]
        return result

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.call("DELETE", "/faults")

    def add_credentials(
        self, tokens: Sequence[str] = (), oauth_clients: Sequence[str] = ()
    ) -> None:
        """Accept more tokens / ``ID:SECRET:REFRESH`` OAuth clients."""
        self.call(
            "POST", "/credentials", {"tokens": list(tokens), "oauth_clients": list(oauth_clients)}
        )

    def configure_consent(self, **settings: Any) -> dict[str, Any]:
        """The OAuth app's `redirect_uris`, `withheld_scopes` and `app_name` (consent page)."""
        answer: dict[str, Any] = self.call("PUT", "/oauth/consent", settings)
        return answer

    def create_service_key(self, scopes: Sequence[str], key: str | None = None) -> str:
        """Accept a Service Key (`pat-…`) with these scopes; returns the key."""
        body: dict[str, Any] = {"scopes": list(scopes)}
        if key is not None:
            body["key"] = key
        made: str = self.call("POST", "/service-keys", body)["key"]
        return made

    def delete_service_key(self, key: str) -> None:
        """Stop accepting a Service Key."""
        self.call("DELETE", "/service-keys", {"key": key})

    def expire_tokens(self) -> int:
        """Make every issued OAuth access token stale now."""
        expired: int = self.call("POST", "/oauth/expire")["expired"]
        return expired


class HubSpotEmulator(AdminClient):
    """An emulator served from a background thread of the test process."""

    def __init__(self, server: BackgroundServer) -> None:
        super().__init__(server.url, EMULATOR_TOKEN, EMULATOR_OAUTH_CLIENT)
        self.server = server

    @classmethod
    def start(
        cls, *, hub_id: int = HUB_ID, legacy_apis: bool = DEFAULT_LEGACY_APIS
    ) -> HubSpotEmulator:
        """Start a fresh emulator on a free port (options: see the module docstring)."""
        config = EmulatorConfig(legacy_apis=legacy_apis)
        app = make_app([EMULATOR_TOKEN], [EMULATOR_OAUTH_CLIENT], config, hub_id=hub_id)
        return cls(BackgroundServer(app).start())

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()


class HubSpotEmulatorProcess(AdminClient):
    """An emulator running as `python -m emulators.hubspot.cli` in a child process."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        super().__init__(url, EMULATOR_TOKEN, EMULATOR_OAUTH_CLIENT)
        self.proc = proc

    @classmethod
    def start(
        cls,
        *cli_args: str,
        env: Mapping[str, str] | None = None,
        hub_id: int = HUB_ID,
        legacy_apis: bool = DEFAULT_LEGACY_APIS,
    ) -> HubSpotEmulatorProcess:
        """Start the CLI on a free port with the fixture credentials, the options (as CLI
        flags) and `cli_args`."""
        client = EMULATOR_OAUTH_CLIENT
        options = ["--hub-id", str(hub_id)] + ([] if legacy_apis else ["--retire-legacy-apis"])
        command = [
            sys.executable,
            "-m",
            "emulators.hubspot.cli",
            "--port",
            "0",
            "--token",
            EMULATOR_TOKEN,
            "--oauth-client",
            f"{client.client_id}:{client.client_secret}:{client.refresh_token}",
            *options,
            *cli_args,
        ]
        proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        url = _read_url(proc)
        return cls(proc, url)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=timeout)

    def kill(self) -> int:
        """SIGKILL and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the process however it can be stopped, and close its pipes."""
        try:
            self.terminate()
        except subprocess.TimeoutExpired:
            self.kill()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _read_url(proc: subprocess.Popen[str]) -> str:
    """The base URL from the `Listening on ...` line, or an error with the child's stderr."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("Listening on "):
        proc.kill()
        stderr = proc.stderr.read() if proc.stderr is not None else ""
        msg = f"hubspot-emulator did not start (first line {line!r}); stderr: {stderr[-2000:]}"
        raise RuntimeError(msg)
    return line.removeprefix("Listening on ").strip()


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixture-options marker and the journal-settings marker."""
    register_marker(config)
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options of the HubSpot emulator fixtures ({', '.join(OPTIONS)})",
    )


@pytest.fixture(scope="session")
def hubspot_emulator_defaults() -> dict[str, Any]:
    """Default fixture options; a directory's conftest may override this fixture."""
    return {"legacy_apis": DEFAULT_LEGACY_APIS}


def fixture_options(request: pytest.FixtureRequest, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults overlaid with the `hubspot_emulator` markers' options (the test's over its
    class's over its module's), refusing unknown names."""
    options = dict(defaults)
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        options.update(marker.kwargs)
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        msg = f"unknown {MARKER} options {unknown}; known: {', '.join(OPTIONS)}"
        raise pytest.UsageError(msg)
    return options


@pytest.fixture
def hubspot_emulator(
    request: pytest.FixtureRequest, hubspot_emulator_defaults: dict[str, Any]
) -> Iterator[HubSpotEmulator]:
    """A fresh in-process HubSpot emulator (see the module docstring)."""
    emulator = HubSpotEmulator.start(**fixture_options(request, hubspot_emulator_defaults))
    apply_journal_marker(request.node, emulator)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def hubspot_emulator_module(
    request: pytest.FixtureRequest, hubspot_emulator_defaults: dict[str, Any]
) -> Iterator[HubSpotEmulator]:
    """One in-process HubSpot emulator shared by a test module."""
    emulator = HubSpotEmulator.start(**fixture_options(request, hubspot_emulator_defaults))
    apply_journal_marker(request.node, emulator)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def hubspot_emulator_factory(
    request: pytest.FixtureRequest, hubspot_emulator_defaults: dict[str, Any]
) -> Iterator[Callable[..., HubSpotEmulator]]:
    """A factory of further in-process emulators (keywords over the marker's options)."""
    started: list[HubSpotEmulator] = []
    marked = fixture_options(request, hubspot_emulator_defaults)

    def start(**options: Any) -> HubSpotEmulator:
        emulator = HubSpotEmulator.start(**{**marked, **options})
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in started:
            emulator.stop()


@pytest.fixture
def hubspot_emulator_process(
    request: pytest.FixtureRequest, hubspot_emulator_defaults: dict[str, Any]
) -> Iterator[Callable[..., HubSpotEmulatorProcess]]:
    """A factory starting the emulator CLI as subprocesses; all are stopped at teardown."""
    started: list[HubSpotEmulatorProcess] = []
    marked = fixture_options(request, hubspot_emulator_defaults)

    def start(
        *cli_args: str, env: Mapping[str, str] | None = None, **options: Any
    ) -> HubSpotEmulatorProcess:
        process = HubSpotEmulatorProcess.start(*cli_args, env=env, **{**marked, **options})
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()
