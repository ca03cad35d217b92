"""HTTP with httpx: conditional GET, manual redirects, a total deadline, bounded bodies,
politeness per host and address safety.

The only package that imports httpx (and httpcore, in _address). Every httpx failure
leaves as a FetchError.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import ssl
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from aggregator.errors import FetchError, Gone, RateLimited
from aggregator.fetch._address import (
    BlockedAddress,
    ResolveFailed,
    Resolver,
    connection_pool,
    system_resolver,
)
from aggregator.fetch._hosts import HostGate
from aggregator.models import FetchResult, NotModified

__all__ = ["ACCEPT", "Fetcher", "Resolver"]

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# Only codings we decode ourselves (see _read_body); also stops httpx from
# advertising br/zstd if those packages ever get installed.
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 5
# What a failed hub ping names instead of a source id.
WEBSUB = "(websub)"
CONNECTIONS_PER_CLIENT = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_DECODED = frozenset({"gzip", "x-gzip", "deflate"})
_DESCRIPTIONS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectError, "cannot connect"),
    (httpx.UnsupportedProtocol, "invalid URL"),
    (httpx.InvalidURL, "invalid URL"),
    (httpx.ProtocolError, "HTTP protocol error"),
    (httpx.NetworkError, "network error"),
)


@dataclass(frozen=True, slots=True)
class _Shard:
    client: httpx.AsyncClient
    # As many slots as the client has connections, so a request never waits in
    # httpx's pool while its deadline runs.
    slots: asyncio.Semaphore


class Fetcher:
    """Fetches feeds; use as `async with Fetcher(...) as fetcher:`.

    Politeness and address safety are on by default: `per_host_limit` requests in
    flight per host:port with starts `per_host_delay` seconds apart, and no
    connection to a loopback, private, link-local or other non-global address unless
    `allow_private` (each overridable per fetch, i.e. per source).
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        max_body_size: int,
        max_concurrency: int,
        per_host_limit: int = 2,
        per_host_delay: float = 1.0,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0 or max_body_size < 1 or max_concurrency < 1 or per_host_limit < 1:
            raise ValueError(
                "timeout, max_body_size, max_concurrency and per_host_limit must be positive"
            )
        self._user_agent = user_agent
        self._timeout = timeout
        self._max_body_size = max_body_size
        self._max_concurrency = max_concurrency
        self._per_host_limit = per_host_limit
        self._per_host_delay = per_host_delay
        self._allow_private = allow_private
        self._resolver = resolver
        self._ssl_context = ssl_context  # None: the system's trust store via httpx
        # Keyed on the address policy: a pooled connection opened for a source allowed
        # private addresses must never serve one that is not.
        self._shards: dict[bool, list[_Shard]] = {}
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._hosts = HostGate(per_host_delay)

    async def __aenter__(self) -> Fetcher:
        # One big AsyncClient scans its whole pool on every request; small ones are faster.
        count = math.ceil(self._max_concurrency / CONNECTIONS_PER_CLIENT)
        # Loading the trust store takes ~16 ms: once for every client, not once each.
        tls = self._ssl_context or httpx.create_ssl_context(trust_env=False)
        self._shards = {
            policy: [
                _Shard(
                    self._client(allow_private=policy, tls=tls),
                    asyncio.Semaphore(CONNECTIONS_PER_CLIENT),
                )
                for _ in range(count)
            ]
            for policy in (False, True)
        }
        # Bound to this event loop.
        self._semaphore = asyncio.Semaphore(self._max_concurrency)
        self._hosts = HostGate(self._per_host_delay)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shards, self._shards = self._shards, {}
        for group in shards.values():
            for shard in group:
                await shard.client.aclose()

    def _client(self, *, allow_private: bool, tls: ssl.SSLContext) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(verify=tls, trust_env=False)
        # httpx has no parameter for httpcore's network backend, which is where the
        # address check must sit (see _address); tests/integration/test_hostile.py
        # proves the swapped pool is the one used.
        transport._pool = connection_pool(
            self._resolver,
            allow_private=allow_private,
            ssl_context=tls,
            connections=CONNECTIONS_PER_CLIENT,
        )
        return httpx.AsyncClient(
            transport=transport,
            headers={
                "User-Agent": self._user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            # Cookies would leak between sources sharing a client.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            timeout=httpx.Timeout(self._timeout),  # per operation; the deadline is below
            limits=httpx.Limits(
                max_connections=CONNECTIONS_PER_CLIENT,
                max_keepalive_connections=CONNECTIONS_PER_CLIENT,
            ),
            follow_redirects=False,  # followed by hand: hop limit, schemes, permanence
            trust_env=False,  # no proxy variables, no .netrc
        )

    async def fetch(
        self,
        source_id: str,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool | None = None,
        per_host_limit: int | None = None,
    ) -> FetchResult | NotModified:
        """GET `url`; raise FetchError (RateLimited, Gone) when it fails.

        `allow_private` and `per_host_limit` override the Fetcher's defaults for this
        one source.
        """
        target = self._target(source_id, url)
        # Validators are opaque: latin-1 turns the stored text back into the exact bytes.
        conditional: dict[bytes, bytes] = {}
        if etag:
            conditional[b"If-None-Match"] = _header_bytes(etag)
        if last_modified:
            conditional[b"If-Modified-Since"] = _header_bytes(last_modified)
        private = self._allow_private if allow_private is None else allow_private
        limit = per_host_limit or self._per_host_limit
        # Waiting for a slot is not the server's fault: the deadline starts after it.
        async with self._hosts.slot(_host_key(target), limit), self._semaphore:
            with self._errors(source_id, url, private):
                async with asyncio.timeout(self._timeout):
                    result = await self._follow(source_id, url, target, conditional, private)
        if isinstance(result, NotModified):
            if not conditional:
                # Nothing to be unmodified from: taken as a success, the source would
                # show ok with no entries for ever.
                raise FetchError(
                    source_id, url, "HTTP 304 Not Modified to a request without validators "
                    "(no ETag or Last-Modified was sent): the server sent no feed",
                    status=304,
                )  # fmt: skip
            # A 304 need not repeat the validators; keep the ones that worked.
            return dataclasses.replace(
                result,
                etag=result.etag or etag or None,
                last_modified=result.last_modified or last_modified or None,
            )
        return result

    def _target(self, source_id: str, url: str) -> httpx.URL:
        if not self._shards:
            raise RuntimeError("Fetcher used outside `async with`")
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(source_id, url, f"invalid URL: {exc}") from exc
        if not _is_http(target):
            raise FetchError(source_id, url, "not an absolute http(s) URL")
        return target

    @contextlib.contextmanager
    def _errors(self, source_id: str, url: str, private: bool) -> Iterator[None]:
        """Every transport failure as a FetchError naming the source and URL."""
        try:
            yield
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise FetchError(source_id, url, f"timed out after {self._timeout:g}s") from exc
        except BlockedAddress as exc:
            hint = "" if private else " (allow_private_addresses is off)"
            raise FetchError(source_id, url, f"blocked address: {exc}{hint}") from exc
        except ResolveFailed as exc:
            raise FetchError(source_id, url, f"DNS: {exc}") from exc
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            raise FetchError(source_id, url, _describe(exc)) from exc

    def _shard(self, url: httpx.URL, allow_private: bool) -> _Shard:
        group = self._shards[allow_private]
        return group[zlib.crc32(_host_key(url).encode()) % len(group)]

    async def ping_hub(self, hub: str, topic_url: str) -> int:
        """Tell a WebSub hub that `topic_url` changed (hub.mode=publish); return
        the hub's status. Raise FetchError unless it answers 2xx. The hub gets the
        same address policy as sources (`allow_private_addresses`)."""
        target = self._target(WEBSUB, hub)
        shard = self._shard(target, self._allow_private)
        async with shard.slots, self._semaphore:
            with self._errors(WEBSUB, hub, self._allow_private):
                async with asyncio.timeout(self._timeout):
                    response = await shard.client.post(
                        target, data={"hub.mode": "publish", "hub.url": topic_url}
                    )
                    await response.aclose()  # the body says nothing we need
        if not 200 <= response.status_code < 300:
            raise FetchError(WEBSUB, hub, f"HTTP {response.status_code}",
                             status=response.status_code)  # fmt: skip
        return response.status_code

    async def _follow(
        self,
        source_id: str,
        url: str,
        target: httpx.URL,
        conditional: dict[bytes, bytes],
        allow_private: bool,
    ) -> FetchResult | NotModified:
        current = target.copy_with(fragment=None)
        seen = {str(current)}
        permanent = True  # so far, every hop was a 301 or 308
        for hops in range(MAX_REDIRECTS + 1):
            # The allowance is for the configured server, not for wherever it sends us.
            shard = self._shard(current, allow_private and current.host == target.host)
            async with shard.slots:
                result = await self._hop(
                    shard.client, source_id, url, current, conditional, hops, permanent
                )
            if not isinstance(result, tuple):
                return result
            status, location = result
            previous, current = current, current.join(location).copy_with(fragment=None)
            if not _is_http(current):
                raise FetchError(source_id, url, f"redirect to a non-http(s) URL: {current}")
            if previous.scheme == "https" and current.scheme == "http":
                raise FetchError(source_id, url, f"redirect from https to http refused: {current}")
            if str(current) in seen:
                raise FetchError(source_id, url, f"redirect loop at {current}")
            seen.add(str(current))
            permanent = permanent and status in _PERMANENT
        raise FetchError(source_id, url, f"more than {MAX_REDIRECTS} redirects")

    async def _hop(
        self,
        client: httpx.AsyncClient,
        source_id: str,
        url: str,
        current: httpx.URL,
        conditional: dict[bytes, bytes],
        hops: int,
        permanent: bool,
    ) -> FetchResult | NotModified | tuple[int, str]:
        """One request: a result, or (status, Location) of a redirect to follow."""
        request = client.build_request("GET", current, headers=conditional)
        try:
            response = await client.send(request, stream=True)
        except httpx.InvalidURL as exc:
            # httpx parses a Location even when it is not following redirects.
            raise FetchError(source_id, url, f"redirect to an invalid URL: {exc}") from exc
        try:
            status = response.status_code
            headers = _headers(response)
            moved_to = str(current) if permanent and hops else None
            # Before the redirect branch: httpx counts a 304 as a redirect.
            if status == 304:
                return NotModified(
                    url=url,
                    etag=headers.get("etag") or None,
                    last_modified=headers.get("last-modified") or None,
                    permanent_url=moved_to,
                    headers=headers,
                )
            if status not in _REDIRECTS:
                _raise_for_status(source_id, url, status, headers)
                body = await self._read_body(source_id, url, response, headers)
                return FetchResult(
                    url=url,
                    final_url=str(current),
                    status=status,
                    body=body,
                    content_type=headers.get("content-type"),
                    etag=headers.get("etag") or None,
                    last_modified=headers.get("last-modified") or None,
                    permanent_url=moved_to,
                    headers=headers,
                )
            location = headers.get("location", "").strip()
            if not location:
                raise FetchError(source_id, url, f"HTTP {status} without a Location")
            return status, location
        finally:
            await response.aclose()

    async def _read_body(
        self, source_id: str, url: str, response: httpx.Response, headers: dict[str, str]
    ) -> bytes:
        limit = self._max_body_size
        too_large = FetchError(source_id, url, f"body exceeds the limit of {limit} bytes")
        length = headers.get("content-length", "").strip()
        if length.isascii() and length.isdigit() and int(length) > limit:
            raise too_large
        codings = [
            c.strip()
            for c in headers.get("content-encoding", "").lower().split(",")
            if c.strip() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in _DECODED):
            raise FetchError(source_id, url, f"unsupported Content-Encoding {codings}")
        # httpx's own decoder inflates a whole network read at once (a 50 KB gzip
        # bomb becomes 50 MB in one step), so decode here with a cap on the output.
        decoder: zlib._Decompress | None = None
        body = bytearray()
        try:
            async for chunk in response.aiter_raw():
                if codings and chunk:
                    if decoder is None:
                        decoder = zlib.decompressobj(_wbits(chunk))
                    # Less output than asked means all input was used; exactly as
                    # much means the body is over the limit.
                    chunk = decoder.decompress(chunk, limit + 1 - len(body))
                body += chunk
                if len(body) > limit:
                    raise too_large
            if decoder is not None:
                body += decoder.flush()
        except zlib.error as exc:
            raise FetchError(source_id, url, f"cannot decode the {codings[0]} body: {exc}") from exc
        if len(body) > limit:
            raise too_large
        return bytes(body)


def _raise_for_status(source_id: str, url: str, status: int, headers: dict[str, str]) -> None:
    if 200 <= status < 300:
        return
    detail = f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    if status == 410:
        raise Gone(source_id, url, detail, status=status)
    if status in (429, 503):
        retry_after = _retry_after(headers.get("retry-after"), headers.get("date"))
        raise RateLimited(source_id, url, detail, retry_after, status=status)
    raise FetchError(source_id, url, detail, status=status)


def _headers(response: httpx.Response) -> dict[str, str]:
    # latin-1 maps bytes to text one to one, so values round-trip exactly.
    out: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _header_bytes(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _host_key(url: httpx.URL) -> str:
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _is_http(url: httpx.URL) -> bool:
    return url.scheme in ("http", "https") and bool(url.host)


def _wbits(first: bytes) -> int:
    """gzip or zlib framing (auto-detected), or raw deflate as some servers send it."""
    gzip = first[:2] == b"\x1f\x8b"
    zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.MAX_WBITS | 32 if gzip or zlib_header else -zlib.MAX_WBITS


def _retry_after(value: str | None, date: str | None) -> float | None:
    """Seconds to wait, from delay-seconds or an HTTP-date; None when unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    # Measured against the server's own clock when it sent one: immune to skew.
    now = _http_date(date) or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # A naive result means "-0000": no usable zone.
    return when.astimezone(UTC) if when.tzinfo is not None else None


def _describe(exc: Exception) -> str:
    what = next((d for kind, d in _DESCRIPTIONS if isinstance(exc, kind)), type(exc).__name__)
    text = str(exc)
    return f"{what}: {text}" if text else what
