"""Credentials in source URLs: keep them out of what is published or reported.

A private feed's URL often carries its key: `user:password@` or a query parameter
such as `?token=...` (GitHub's private Atom feeds, paid newsletters, intranet
readers). Such a URL is configuration, not something to hand to every reader of
`sources.opml` or `/status`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
# A parameter is secret when one of its name's words is one of these
# ("api_key", "access-token", "authToken" -> auth, token; "keywords" is not).
_SECRET_WORDS = frozenset(
    {"token", "key", "apikey", "secret", "password", "passwd", "pass", "pwd", "auth",
     "sig", "signature", "session", "credential", "credentials", "jwt", "hash"}
)  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _secret_name(name: str) -> bool:
    return any(word.lower() in _SECRET_WORDS for word in _WORDS.findall(name))


def has_credentials(url: str) -> bool:
    """True when the URL carries a user name, a password or a secret-looking parameter."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True  # unparseable: treat as private rather than publish it
    if parts.username is not None or parts.password is not None:
        return True
    return any(_secret_name(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True))


def redact(url: str) -> str:
    """The URL with its user information dropped and secret parameters' values replaced."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(_secret_name(k) for k, _ in pairs):
        query = urlencode([(k, REDACTED if _secret_name(k) else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, urls: list[str]) -> str:
    """Free text (an error message) with each of these URLs replaced by its redaction."""
    for url in urls:
        if url and url in text and has_credentials(url):
            text = text.replace(url, redact(url))
    return text
