"""Entry identity and canonical URLs. Pure: data in, data out.

An entry's key within its source is its raw guid when it has one (never the
guid feedparser resolved against the feed URL, so a moved feed re-announces
nothing), else its canonical link, else a fingerprint of its text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.models import NewEntry, ParsedEntry

# Query parameters that identify a click, not a document.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "vero_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "ncid", "cmpid", "sr_share",
        "ref_src", "ref_url", "at_medium", "at_campaign", "spm",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


def canonical_url(url: str | None) -> str | None:
    """The form two links to the same article share; None for a non-http(s) URL.

    Lower-cased scheme and host, no default port, no fragment, no tracking
    parameters, remaining parameters sorted, no trailing slash on a path.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port in (None, _DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def content_hash(entry: ParsedEntry) -> str:
    """Changes when anything a reader would see changes; used to detect edits."""
    h = hashlib.sha256()
    for part in (
        entry.title,
        entry.link or "",
        entry.summary,
        entry.content,
        "\x1f".join(entry.authors),
        "\x1f".join(entry.categories),
        "\x1f".join(f"{e.url} {e.type} {e.length}" for e in entry.enclosures),
        entry.updated.isoformat() if entry.updated else "",
        entry.published.isoformat() if entry.published else "",
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def text_fingerprint(entry: ParsedEntry) -> str:
    """Identity of an entry that has neither guid nor link: its visible text."""
    text = " ".join((entry.title, _TAG.sub(" ", entry.summary or entry.content)))
    normal = _SPACE.sub(" ", text).strip().casefold()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def entry_key(entry: ParsedEntry) -> str:
    if entry.guid and entry.guid.strip():
        return "guid:" + entry.guid.strip()
    canonical = canonical_url(entry.link)
    if canonical:
        return "link:" + canonical
    return "text:" + text_fingerprint(entry)


def key_entries(entries: Iterable[ParsedEntry]) -> list[NewEntry]:
    """Keys for one document's entries, unique within it, in document order.

    A guid repeated in one document (a broken feed) is disambiguated by the
    entry's text, deterministically; an exact repeat is dropped.
    """
    out: list[NewEntry] = []
    seen: set[str] = set()
    seen_exact: set[tuple[str, str]] = set()
    for entry in entries:
        key = entry_key(entry)
        fingerprint = text_fingerprint(entry)
        if (key, fingerprint) in seen_exact:
            continue
        seen_exact.add((key, fingerprint))
        if key in seen:
            key = f"{key}#{fingerprint[:16]}"
        seen.add(key)
        out.append(
            NewEntry(
                key=key,
                canonical_url=canonical_url(entry.link),
                content_hash=content_hash(entry),
                entry=entry,
            )
        )
    return out
