"""The Gather Records API client: keep-alive pool, concurrency bound, rate limit, retries.

One upsert per record (Gather has no bulk endpoint), so throughput comes from concurrency over
keep-alive connections. aiohttp runs on one event loop in a background thread; the sink hands
over a batch and blocks until every request has a terminal outcome:

- `accepted`: 2xx (and 404 on DELETE: the record is already gone),
- `rejected`: any other 4xx except 401/403/408/429: the record is wrong, retrying cannot help,
- `failed`: 429, 408, 5xx, timeouts or dropped connections still failing after `max_retries`.

401/403 abort the whole batch with `GatherAuthError`: every record would fail the same way.
No message built here contains the API key.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import msgspec

from hubspot_gather_common.retry_after import parse_retry_after
from target_gather import __version__

if TYPE_CHECKING:
    import aiohttp

Verdict = Literal["accepted", "rejected", "failed"]

# Statuses worth retrying: throttling, request timeout, and server-side failures (5xx).
RETRY_STATUSES = frozenset({408, 429})
AUTH_STATUSES = frozenset({401, 403})
# Rejection reasons are cut to this many characters: enough for DRF's per-field messages.
MAX_REASON_CHARS = 500
LOOPBACK_NAMES = frozenset({"localhost"})


class GatherError(RuntimeError):
    """A failure that stops the run; the message says what to do."""


class GatherAuthError(GatherError):
    """Gather refused the API key (401/403)."""


class InsecureURLError(GatherError):
    """`api_url` is plain http:// to a non-loopback host."""


@dataclass(frozen=True)
class Request:
    """One call to Gather: `body` is pre-encoded JSON (None for DELETE)."""

    method: Literal["POST", "DELETE"]
    path: str
    body: bytes | None


@dataclass(frozen=True)
class Outcome:
    """The terminal result of one request."""

    verdict: Verdict
    status: int | None
    reason: str
    retries: int

    @property
    def created(self) -> bool:
        """Gather answered 201: the record did not exist before."""
        return self.status == 201


def record_path(model: str, record_id: str | None = None) -> str:
    """`/models/{model}/records[/{id}]`, every path segment URL-encoded (`/`, `?`, `%`, `.`)."""
    path = f"/models/{quote(model, safe='')}/records"
    if record_id is None:
        return path
    encoded = quote(record_id, safe="")
    # `.` and `..` are path-resolution syntax for proxies and servers: encode dots too.
    return f"{path}/{encoded.replace('.', '%2E')}"


def check_url(api_url: str, *, allow_insecure_http: bool) -> str:
    """The base URL without trailing slash; refuse plain http to non-loopback hosts."""
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"api_url {api_url!r} is not an http(s) URL such as https://api.gatherdata.co."
        raise GatherError(msg)
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        msg = (
            f"api_url uses plain http:// to {parts.hostname}, which would send the API key "
            "unencrypted. Fix: use https://, or set allow_insecure_http: true if this is a "
            "trusted network."
        )
        raise InsecureURLError(msg)
    return api_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_reason(status: int, body: bytes) -> str:
    """A short reason from Gather's error body (DRF `{"detail"}` or per-field lists)."""
    try:
        data = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("detail"), str):
            text = data["detail"]
        else:
            parts = []
            for key, value in data.items():
                messages = value if isinstance(value, list) else [value]
                parts.append(f"{key}: {' '.join(str(m) for m in messages)}")
            text = "; ".join(parts)
    elif isinstance(data, list):
        text = "; ".join(str(item) for item in data)
    else:
        text = body.decode("utf-8", "replace").strip()
    text = f"HTTP {status}" + (f": {text}" if text else "")
    return text[:MAX_REASON_CHARS]


class _RateLimiter:
    """Spaces request starts `1/rate` seconds apart (no bursts); lives on the client's loop."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self.next_at)
        self.next_at = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with full jitter, Retry-After honoured up to a cap."""

    # No defaults here: they live in the target's settings schema (see factory.make_client).
    max_retries: int
    backoff_base_s: float
    backoff_max_s: float

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds before retry number `retry` (1-based).

        Retry-After is a floor; up to a quarter more is added at random so that requests
        throttled together do not all come back in the same instant.
        """
        if retry_after is not None:
            return min(retry_after * random.uniform(1.0, 1.25), self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)


class GatherClient:
    """Sends batches of requests concurrently; thread-safe, one batch at a time."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        max_concurrency: int,
        max_requests_per_second: float | None,
        request_timeout_s: float,
        retry: RetryPolicy,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self.max_concurrency = max(1, max_concurrency)
        self.rate = max_requests_per_second
        self.timeout = request_timeout_s
        self.retry = retry
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._limiter: _RateLimiter | None = None
        # A 429 pauses every request of this key, not only the throttled one (loop time).
        self._paused_until = 0.0

    def __repr__(self) -> str:
        return f"GatherClient({self.api_url!r}, api_key=<redacted>)"

    def redact(self, text: str) -> str:
        """`text` with any occurrence of the API key masked."""
        return text.replace(self._api_key, "<redacted>") if self._api_key else text

    # -- lifecycle ------------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="gather-client", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        asyncio.run_coroutine_threadsafe(self._open(), loop).result()
        return loop

    async def _open(self) -> None:
        # Imported here, not at module level: a run with nothing to send (an unchanged
        # re-run) never pays aiohttp's import (~10% of the target's start-up).
        import aiohttp  # noqa: PLC0415

        connector = aiohttp.TCPConnector(
            limit=self.max_concurrency, keepalive_timeout=30, enable_cleanup_closed=True
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={
                "Authorization": f"Token {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"target-gather/{__version__}",
            },
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            raise_for_status=False,
        )
        if self.rate:
            self._limiter = _RateLimiter(self.rate)

    def close(self) -> None:
        """Close the connection pool and stop the loop thread."""
        loop = self._loop
        if loop is None:
            return
        session = self._session

        async def shutdown() -> None:
            if session is not None:
                await session.close()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None
        self._session = None

    # -- sending --------------------------------------------------------------------------

    def send_all(self, requests: Sequence[Request]) -> list[Outcome]:
        """Send every request (at most `max_concurrency` in flight); outcomes in input order.

        Raises `GatherAuthError` when Gather refuses the key.
        """
        if not requests:
            return []
        with self._lock:
            loop = self._ensure_started()
            future = asyncio.run_coroutine_threadsafe(self._send_all(requests), loop)
            return future.result()

    async def _send_all(self, requests: Sequence[Request]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        cursor = iter(range(len(requests)))

        async def worker() -> None:
            for index in cursor:
                outcomes[index] = await self._send_one(requests[index])

        workers = [asyncio.ensure_future(worker()) for _ in range(self.max_concurrency)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return [o for o in outcomes if o is not None]

    async def _send_one(self, request: Request) -> Outcome:
        import aiohttp  # noqa: PLC0415 - see _open (already imported: a dict lookup)
        from yarl import URL  # noqa: PLC0415 - aiohttp's own URL type, imported with it

        assert self._session is not None
        # encoded=True: yarl must not decode `%2E%2E` back to `..` and resolve it away.
        url = URL(self.api_url + request.path, encoded=True)
        retries = 0
        loop = asyncio.get_running_loop()
        while True:
            pause = self._paused_until - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            if self._limiter is not None:
                await self._limiter.wait()
            retry_after: float | None = None
            status: int | None = None
            try:
                async with self._session.request(
                    request.method, url, data=request.body
                ) as response:
                    body = await response.read()
                    header = response.headers.get("Retry-After")
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if status is not None:
                verdict = self._classify(request, status)
                if verdict == "accepted":
                    return Outcome("accepted", status, "", retries)
                reason = self.redact(error_reason(status, body))
                if verdict == "auth":
                    msg = (
                        f"Gather refused the API key ({reason}). Fix: set target-gather's "
                        "api_key (TARGET_GATHER_API_KEY) to a valid key for this workspace."
                    )
                    raise GatherAuthError(msg)
                if verdict == "rejected":
                    return Outcome("rejected", status, reason, retries)
                retry_after = parse_retry_after(header)
                if status == 429 and retry_after is not None:
                    until = loop.time() + min(retry_after, self.retry.backoff_max_s)
                    self._paused_until = max(self._paused_until, until)
            if retries >= self.retry.max_retries:
                return Outcome("failed", status, self.redact(reason), retries)
            retries += 1
            await asyncio.sleep(self.retry.delay(retries, retry_after))

    @staticmethod
    def _classify(request: Request, status: int) -> str:
        if 200 <= status < 300 or (request.method == "DELETE" and status == 404):
            return "accepted"
        if status in AUTH_STATUSES:
            return "auth"
        if status in RETRY_STATUSES or status >= 500:
            return "retry"
        return "rejected"


def encode(obj: Any) -> bytes:
    """JSON bytes for a request body; dates/datetimes as ISO 8601, Decimals as numbers."""
    return _ENCODER.encode(obj)


def _enc_hook(obj: Any) -> Any:
    isoformat = getattr(obj, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    return str(obj)


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")
