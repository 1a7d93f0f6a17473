"""A small typed client of the emulator's admin API and read-back endpoints, for tests.

Standard library only (``urllib``), so the fixtures need nothing beyond the emulator.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from emulators.gather.state import ADMIN_PREFIX

# Admin calls are local and quick; anything slower means the emulator is stuck.
ADMIN_TIMEOUT_S = 30.0


def _in(path: str, workspace: str | None) -> str:
    """`path` for one workspace (``?workspace=``), or as is."""
    return path if workspace is None else f"{path}?{urlencode({'workspace': workspace})}"


class GatherAdminError(RuntimeError):
    """The admin API answered with an error status."""


class GatherClient:
    """Helpers over HTTP against a running emulator at `url` that accepts `api_key`."""

    url: str
    api_key: str

    @property
    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Token <key>"}`` for the API routes."""
        return {"Authorization": f"Token {self.api_key}"}

    def record_url(self, model: str, record_id: str) -> str:
        """The URL of one record, its id percent-encoded as one path segment.

        Dots are encoded too (``%2E``), so ids such as ``..`` survive client-side path
        normalisation.
        """
        encoded = quote(record_id, safe="").replace(".", "%2E")
        return f"{self.url}/models/{quote(model, safe='')}/records/{encoded}"

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (the emulator's own http URL)
            path if path.startswith("http") else f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method == "GET" and not path.startswith(ADMIN_PREFIX):
                return None
            text = exc.read().decode("utf-8", "replace")
            msg = f"{method} {path} answered {exc.code}: {text}"
            raise GatherAdminError(msg) from exc
        return json.loads(raw) if raw else None

    def records(self, model: str, workspace: str | None = None) -> dict[str, dict[str, Any]]:
        """Every record of `model` (in `workspace`): id -> traits (``id`` not among them)."""
        dump = self._call("GET", _in(f"{ADMIN_PREFIX}/records/{quote(model, safe='')}", workspace))
        return {rid: entry["traits"] for rid, entry in dump["records"].items()}

    def records_with_meta(
        self, model: str, workspace: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Every record: id -> ``{"traits": {...}, "_meta": {created_at, updated_at, writes}}``."""
        dump = self._call("GET", _in(f"{ADMIN_PREFIX}/records/{quote(model, safe='')}", workspace))
        records: dict[str, dict[str, Any]] = dump["records"]
        return records

    def record(self, model: str, record_id: str) -> dict[str, Any] | None:
        """One record, flat with ``_meta``, via the read-back API; None when unknown."""
        found: dict[str, Any] | None = self._call(
            "GET", self.record_url(model, record_id), headers=self.auth_headers
        )
        return found

    def events(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """Every event (of `workspace`) in arrival order."""
        found = self._call("GET", _in(f"{ADMIN_PREFIX}/events", workspace))
        events: list[dict[str, Any]] = found["events"]
        return events

    def stats(self, workspace: str | None = None) -> dict[str, Any]:
        """``{"requests": {...by route and status}, "records": {...}, "events": {...}}``.

        Write counts are those of `workspace`, or the sums over all workspaces (then also
        each workspace's under ``workspaces``).
        """
        stats: dict[str, Any] = self._call("GET", _in(f"{ADMIN_PREFIX}/stats", workspace))
        return stats

    def reset_stats(self) -> None:
        """Zero the counters, keep the data."""
        self._call("POST", f"{ADMIN_PREFIX}/stats/reset")

    def reset(self) -> None:
        """Drop all data, counters, faults and config changes."""
        self._call("POST", f"{ADMIN_PREFIX}/reset")

    def set_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the fault plan (see `emulators.common.faults`); returns the rules."""
        plan: list[dict[str, Any]] = self._call("PUT", f"{ADMIN_PREFIX}/faults", rules)["rules"]
        return plan

    def add_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append rules to the fault plan."""
        plan: list[dict[str, Any]] = self._call("POST", f"{ADMIN_PREFIX}/faults", rules)["rules"]
        return plan

    def faults(self) -> list[dict[str, Any]]:
        """The fault plan with its counters (``seen``, ``fired``)."""
        plan: list[dict[str, Any]] = self._call("GET", f"{ADMIN_PREFIX}/faults")["rules"]
        return plan

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", f"{ADMIN_PREFIX}/faults")

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Change switches (e.g. ``rate_limit_per_s=5``); returns the whole config."""
        config: dict[str, Any] = self._call("PUT", f"{ADMIN_PREFIX}/config", changes)
        return config

    def config(self) -> dict[str, Any]:
        """The current switches."""
        config: dict[str, Any] = self._call("GET", f"{ADMIN_PREFIX}/config")
        return config
