"""Request statistics: counts by route and status, for the admin APIs and the demo."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# Status recorded for a request whose connection was dropped (no response was sent).
DROPPED = 0


class RequestStats:
    """Counts requests by ``"METHOD /route/template"`` and by status code."""

    def __init__(self) -> None:
        self.by_route: Counter[str] = Counter()
        self.by_route_status: Counter[tuple[str, int]] = Counter()

    def record(self, route: str, status: int) -> None:
        """Count one answered request."""
        self.by_route[route] += 1
        self.by_route_status[(route, status)] += 1

    def reset(self) -> None:
        """Forget every count."""
        self.by_route.clear()
        self.by_route_status.clear()

    def to_json(self) -> dict[str, object]:
        """``{"total": n, "routes": {route: {"total": n, "by_status": {"200": n}}}}``."""
        routes: dict[str, dict[str, object]] = {}
        for route, total in sorted(self.by_route.items()):
            by_status = {
                ("dropped" if status == DROPPED else str(status)): count
                for (name, status), count in sorted(self.by_route_status.items())
                if name == route
            }
            routes[route] = {"total": total, "by_status": by_status}
        return {"total": sum(self.by_route.values()), "routes": routes}


def route_name(request: web.Request) -> str:
    """The route template a request matched (ids folded away), or its raw path."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template}"


def stats_middleware(stats: RequestStats, admin_prefix: str) -> Middleware:
    """An aiohttp middleware counting every non-admin request by route and final status
    (a dropped connection counts under ``"dropped"``)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(admin_prefix):
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            stats.record(route_name(request), exc.status)
            raise
        except asyncio.CancelledError:
            stats.record(route_name(request), DROPPED)
            raise
        stats.record(route_name(request), response.status)
        return response

    return middleware
