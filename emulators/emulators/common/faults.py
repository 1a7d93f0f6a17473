"""Deterministic, scriptable fault injection for both emulators.

A fault plan is an ordered list of rules. Each request not under the admin prefix is matched
against the rules in order; the first rule that matches *and still has shots left* fires.
Rules count matching requests, so a schedule such as "let 3 pass, then fail the next 2 with
503" is reproducible without any randomness. Actions:

- ``status``: answer ``status`` with the app's own error body (the app renders it), with a
  ``Retry-After`` header when ``retry_after`` is set (omitted otherwise).
- ``latency``: sleep ``delay_s`` seconds, then serve the request normally.
- ``drop``: close the connection without sending a response.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

FaultAction = Literal["status", "latency", "drop"]
ACTIONS: tuple[str, ...] = ("status", "latency", "drop")

# Renders the app's error body for an injected status (HubSpot JSON, Gather DRF, ...).
ErrorRenderer = Callable[[web.Request, int, "FaultRule"], web.StreamResponse]


class FaultRuleError(ValueError):
    """A fault rule given to the admin API is malformed."""


@dataclass
class FaultRule:
    """One line of a fault schedule (see the module docstring)."""

    path: str = ".*"
    method: str | None = None
    action: FaultAction = "status"
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 0.0
    skip: int = 0
    times: int | None = 1
    every: int = 1
    seen: int = field(default=0)
    fired: int = field(default=0)
    _pattern: re.Pattern[str] = field(default=re.compile(".*"), repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            msg = f"fault action must be one of {', '.join(ACTIONS)}, got {self.action!r}"
            raise FaultRuleError(msg)
        if self.every < 1 or self.skip < 0 or (self.times is not None and self.times < 0):
            msg = "fault rule needs every >= 1, skip >= 0 and times >= 0 (or null for unlimited)"
            raise FaultRuleError(msg)
        try:
            self._pattern = re.compile(self.path)
        except re.error as exc:
            msg = f"fault rule path is not a valid regular expression: {exc}"
            raise FaultRuleError(msg) from exc
        if self.method is not None:
            self.method = self.method.upper()

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        """Build a rule from the admin API's JSON, refusing unknown keys."""
        if not isinstance(data, dict):
            msg = "each fault rule must be a JSON object"
            raise FaultRuleError(msg)
        allowed = {"path", "method", "action", "status", "retry_after", "delay_s", "skip"}
        allowed |= {"times", "every"}
        unknown = set(data) - allowed
        if unknown:
            msg = f"unknown fault rule keys: {', '.join(sorted(unknown))}"
            raise FaultRuleError(msg)
        if "retry_after" in data and data["retry_after"] is not None:
            data = {**data, "retry_after": str(data["retry_after"])}
        try:
            return cls(**data)
        except TypeError as exc:
            raise FaultRuleError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        """The rule and its counters, as the admin API shows them."""
        data = asdict(self)
        data.pop("_pattern", None)
        return data

    @property
    def exhausted(self) -> bool:
        """True once the rule has fired `times` times."""
        return self.times is not None and self.fired >= self.times

    def matches(self, request: web.Request) -> bool:
        """Whether this rule applies to the request's method and path."""
        if self.method is not None and request.method != self.method:
            return False
        return self._pattern.search(request.path) is not None

    def take_shot(self) -> bool:
        """Count a matching request; return True when the rule fires for it."""
        if self.exhausted:
            return False
        self.seen += 1
        position = self.seen - self.skip
        if position <= 0 or (position - 1) % self.every != 0:
            return False
        self.fired += 1
        return True


class FaultPlan:
    """The ordered rules of one emulator instance."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def replace(self, rules: list[FaultRule]) -> None:
        """Install a new schedule, dropping the old one."""
        self.rules = list(rules)

    def extend(self, rules: list[FaultRule]) -> None:
        """Append rules after the existing ones."""
        self.rules.extend(rules)

    def clear(self) -> None:
        """Remove every rule."""
        self.rules = []

    def pick(self, request: web.Request) -> FaultRule | None:
        """The rule that fires for this request, if any (counts the shot)."""
        for rule in self.rules:
            if rule.matches(request) and rule.take_shot():
                return rule
        return None


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the client's connection with no response (a dropped connection)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp notices the closed transport and sends nothing; the exception ends the handler.
    raise asyncio.CancelledError


def fault_middleware(plan: FaultPlan, render_error: ErrorRenderer, admin_prefix: str) -> Middleware:
    """An aiohttp middleware that applies `plan` to every non-admin request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(admin_prefix):
            return await handler(request)
        rule = plan.pick(request)
        if rule is None:
            return await handler(request)
        if rule.action == "latency":
            await asyncio.sleep(rule.delay_s)
            return await handler(request)
        if rule.action == "drop":
            return await drop_connection(request)
        response = render_error(request, rule.status, rule)
        if rule.retry_after is not None:
            response.headers["Retry-After"] = rule.retry_after
        return response

    return middleware


def parse_rules(payload: Any) -> list[FaultRule]:
    """Rules from the admin API body: a list of rule objects or ``{"rules": [...]}``."""
    if isinstance(payload, dict) and "rules" in payload:
        payload = payload["rules"]
    if not isinstance(payload, list):
        msg = 'send a JSON list of fault rules, or {"rules": [...]}'
        raise FaultRuleError(msg)
    return [FaultRule.from_json(item) for item in payload]
