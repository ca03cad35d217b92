"""HTML sanitising and text hygiene. The only module that imports nh3.

Everything a feed says is hostile until it has been through here: titles and names
through `clean_text` (or `html_to_text` first when they hold markup), article bodies
through `clean_html`, every URL we keep through `safe_url`. The results are safe to
store, to embed in our own XML output (no XML-illegal characters) and to show in a
browser.
"""

from __future__ import annotations

import functools
import html as htmllib
import re
import threading
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urljoin, urlsplit, urlunsplit

import nh3

TEXT_MAX = 1_000  # a title
HTML_MAX = 1_000_000  # a summary or content body, after sanitising
# Larger fragments are cut before nh3 sees them: the work must stay bounded.
HTML_INPUT_MAX = 4_000_000
URL_MAX = 4_096

# Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, U+FFFE/FFFF) and
# surrogate code points, which cannot be encoded at all (nh3 and sqlite raise).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Tab, CR and LF inside a URL are dropped by browsers (WHATWG URL); other controls
# mean the value is not a URL.
_URL_NEWLINES = re.compile("[\t\r\n]")
_URL_CONTROLS = re.compile("[\x00-\x1f\x7f]")

HTTP_SCHEMES = frozenset({"http", "https"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TABLE = frozenset({"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "col"})
TAGS = frozenset(
    {"a", "abbr", "acronym", "address", "b", "bdi", "bdo", "big", "blockquote", "br"}
    | {"center", "cite", "code", "colgroup", "dd", "del", "details", "dfn", "div", "dl"}
    | {"dt", "em", "figcaption", "figure", "hr", "i", "img", "ins", "kbd", "li", "mark"}
    | {"ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike"}
    | {"strong", "sub", "summary", "sup", "time", "tt", "u", "ul", "var", "wbr"}
    | {"audio", "video", "source"}
    | _HEADINGS
    | _TABLE
)
# Removed together with their content (the rest of the unknown tags are unwrapped,
# keeping their text). Must not overlap TAGS: nh3 refuses that.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "svg", "math", "iframe", "frame", "frameset"}
    | {"object", "embed", "applet", "noembed", "noframes", "textarea", "select", "title"}
)
# Read-only (no module-level mutable state); nh3 wants a dict, so each call copies it.
ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "*": frozenset({"title", "lang", "dir"}),
        "a": frozenset({"href", "hreflang"}),
        "img": frozenset({"src", "alt", "width", "height"}),
        "blockquote": frozenset({"cite"}),
        "q": frozenset({"cite"}),
        "del": frozenset({"cite", "datetime"}),
        "ins": frozenset({"cite", "datetime"}),
        "time": frozenset({"datetime"}),
        "ol": frozenset({"start", "reversed", "type"}),
        "li": frozenset({"value"}),
        "td": frozenset({"colspan", "rowspan", "headers"}),
        "th": frozenset({"colspan", "rowspan", "headers", "scope", "abbr"}),
        "col": frozenset({"span"}),
        "colgroup": frozenset({"span"}),
        "details": frozenset({"open"}),
        "audio": frozenset({"src", "controls"}),
        "video": frozenset({"src", "poster", "controls", "width", "height"}),
        "source": frozenset({"src", "type"}),
    }
)
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster"})
LINK_REL = "noopener noreferrer nofollow"

# html_to_text: tags whose text is not text, and tags that separate words.
_NOT_TEXT = frozenset({"script", "style", "template", "head", "title", "svg", "math"})
_TAG = re.compile(r"<[^>]*>")
_BREAKS = _HEADINGS | frozenset(
    {"br", "p", "div", "li", "tr", "td", "th", "hr", "blockquote", "pre", "dt", "dd"}
    | {"figcaption", "section", "article"}
)

# html_to_text's: nh3 (html5ever) rather than html.parser, which raises AssertionError on
# "<![ x". Only attribute-less separator tags survive; each becomes a space. Built once:
# nh3.clean would convert the configuration on every call.
_TEXT_CLEANER = nh3.Cleaner(
    tags=_BREAKS, clean_content_tags=_NOT_TEXT, attributes={}, link_rel=None
)


def strip_illegal(text: str) -> str:
    """Remove the characters XML 1.0 cannot carry, and lone surrogates."""
    return _ILLEGAL.sub("", text)


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def clean_text(text: str, *, max_length: int = TEXT_MAX) -> str:
    """Plain text fit for a title or a name: legal, NFC, one line, at most max_length."""
    # Cut early so a multi-megabyte "title" costs little; whitespace runs collapse, so
    # keep some slack beyond max_length.
    text = _ILLEGAL.sub("", text.lstrip()[: max_length * 4 + 64])
    text = " ".join(_nfc(text).split())
    if len(text) > max_length:
        text = text[:max_length].rstrip()
    return text


def html_to_text(html: str) -> str:
    """The text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed.

    No length cap beyond HTML_INPUT_MAX; pass the result through clean_text.
    """
    html = _ILLEGAL.sub("", html[:HTML_INPUT_MAX])
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    kept = _TEXT_CLEANER.clean(html)
    text = htmllib.unescape(_TAG.sub(" ", kept))
    # Entities such as &#1; decode to characters we must drop again.
    return " ".join(_ILLEGAL.sub("", text).split())


# URLs that _absolute's general path (urljoin, urlsplit, urlunsplit) leaves as they are
# (absolute) or puts after the base's scheme://netloc (path-absolute, "/a/b"). Most of a
# feed's links are one or the other, and this regex costs a tenth of urllib's work.
# Whatever would make urllib change them is left out: upper case in the scheme,
# non-ASCII, spaces and controls, anything but a plain host name and port, ";" (path
# parameters), an empty "?" or "#" (dropped), "." and ".." segments (resolved), and "//"
# at the start of a path.
_PATH_CHARS = r"[A-Za-z0-9\-._~%!$&'()*+,=:@/]"
_QUERY_CHARS = r"[A-Za-z0-9\-._~%!$&'()*+,=:@/?]"
_PLAIN_URL = re.compile(
    rf"(?!.*/\.\.?(?:[/?#]|$))"
    rf"(?:https?://[A-Za-z0-9.\-]+(?::[0-9]{{1,5}})?(?:/(?!/){_PATH_CHARS}*)?|/(?!/){_PATH_CHARS}*)"
    rf"(?:\?{_QUERY_CHARS}+)?(?:#{_QUERY_CHARS}+)?"
)


@functools.lru_cache(maxsize=1_024)
def _base_origin(base_url: str) -> tuple[bool, str | None]:
    """(whether urljoin can parse base_url, its "scheme://netloc" if it is http(s) with a
    host name). A feed's links share a few bases: the feed's, each entry's link."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
    except ValueError:
        return False, None
    if parts.scheme in HTTP_SCHEMES and host:
        return True, f"{parts.scheme}://{parts.netloc}"
    return True, None


def _absolute(url: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """url made absolute against base_url, if its scheme is one of schemes; else None."""
    if len(url) <= URL_MAX and _PLAIN_URL.fullmatch(url):
        parses, origin = _base_origin(base_url) if base_url else (True, None)
        if url[0] != "/":
            if parses:
                return url
        elif origin is not None:
            return origin + url
    return _resolve(url, base_url, schemes)


def _resolve(url: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """_absolute for every URL, with urllib (the definition)."""
    url = _URL_NEWLINES.sub("", url.strip())
    if not url or len(url) > URL_MAX or _URL_CONTROLS.search(url) or _ILLEGAL.search(url):
        return None
    url = url.replace(" ", "%20")
    try:
        parts = urlsplit(urljoin(base_url, url) if base_url else url)
        if parts.scheme not in schemes:  # also refuses a relative URL without a base
            return None
        if parts.scheme in HTTP_SCHEMES and not parts.hostname:
            return None
        # Re-assembled from its parts, so the string starts with the scheme we checked.
        return urlunsplit(parts)
    except ValueError:  # e.g. "http://[::1" or a bad port
        return None


def safe_url(url: str | None, *, base_url: str | None) -> str | None:
    """An absolute http(s) URL, or None (javascript:, data:, relative without base...)."""
    if not url:
        return None
    return _absolute(url, base_url, HTTP_SCHEMES)


class _Sanitiser:
    """One nh3.Cleaner whose URL filter resolves against the base URL of the call in
    progress. nh3.clean converts the whole configuration to Rust on every call, about
    30 us: half the cost of cleaning a typical summary."""

    def __init__(self) -> None:
        self._base_url: str | None = None
        self._cleaner = nh3.Cleaner(
            tags=TAGS,
            clean_content_tags=DROPPED_WITH_CONTENT,
            attributes=dict(ATTRIBUTES),
            attribute_filter=self._url_filter,
            strip_comments=True,
            link_rel=LINK_REL,
            url_schemes=LINK_SCHEMES,
        )

    def clean(self, html: str, base_url: str | None) -> str:
        self._base_url = base_url
        try:
            return self._cleaner.clean(html)
        finally:
            self._base_url = None

    def _url_filter(self, tag: str, attribute: str, value: str) -> str | None:
        # nh3 has checked the scheme of absolute URLs before this runs, but it does not
        # check what we return, so only http(s) (and mailto for links) come back out.
        if attribute not in _URL_ATTRIBUTES:
            return value
        schemes = LINK_SCHEMES if (tag, attribute) == ("a", "href") else HTTP_SCHEMES
        return _absolute(value, self._base_url, schemes)


# One _Sanitiser per thread: the base URL belongs to the call in progress, and a
# Cleaner shared between threads would need a lock around each call.
_sanitisers = threading.local()


def _nh3_clean(html: str, base_url: str | None) -> str:
    try:
        sanitiser: _Sanitiser = _sanitisers.sanitiser
    except AttributeError:
        sanitiser = _sanitisers.sanitiser = _Sanitiser()
    return sanitiser.clean(html, base_url)


def clean_html(html: str, *, base_url: str | None, max_length: int = HTML_MAX) -> str:
    """Allow-list sanitised HTML with absolute http(s)/mailto URLs only.

    Relative href/src/cite/poster values are resolved against base_url (dropped when
    there is none). The result is at most about max_length characters.
    """
    html = _ILLEGAL.sub("", html[:HTML_INPUT_MAX])
    if not html.strip():
        return ""
    out = _nh3_clean(_nfc(html), base_url)
    if len(out) > max_length:
        # Cut before a tag and sanitise again: nh3 closes what the cut left open.
        cut = out.rfind("<", 0, max_length)
        out = _nh3_clean(out[: cut if cut > 0 else max_length], base_url)
    # Character references (&#1;) decode to characters XML cannot carry.
    return _ILLEGAL.sub("", out).strip()
