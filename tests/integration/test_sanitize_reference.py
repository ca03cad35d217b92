"""Differential test: the sanitiser gives exactly what its first version gave.

sanitize.py reuses one nh3.Cleaner and resolves plain URLs without urllib (both for
speed). Stored entries and their content hashes must not change because of that, so
the first version is kept here as the reference and both run over every fragment that
parsing ../shared/corpus, the project's fixtures and the benchmark's feeds produces,
and over generated URLs and fragments aimed at the fast path's edges.
"""

from __future__ import annotations

import html as htmllib
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import nh3
import pytest

from aggregator import parse, sanitize
from aggregator.errors import ParseError
from aggregator.parse import _fields, _jsonfeed, parse_feed
from benchmarks import synth
from tests.conftest import shared_dir
from tests.integration.test_corpus_parse import corpus_files
from tests.integration.test_fast_parse import _fixture_documents

# -- the reference: sanitize.py's first version -------------------------------------

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_URL_NEWLINES = re.compile("[\t\r\n]")
_URL_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def reference_absolute(url: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    url = _URL_NEWLINES.sub("", url.strip())
    if not url or len(url) > sanitize.URL_MAX or _URL_CONTROLS.search(url) or _ILLEGAL.search(url):
        return None
    url = url.replace(" ", "%20")
    try:
        parts = urlsplit(urljoin(base_url, url) if base_url else url)
        if parts.scheme not in schemes:
            return None
        if parts.scheme in sanitize.HTTP_SCHEMES and not parts.hostname:
            return None
        return urlunsplit(parts)
    except ValueError:
        return None


def _reference_filter(base_url: str | None) -> Callable[[str, str, str], str | None]:
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in {"href", "src", "cite", "poster"}:
            return value
        schemes = (
            sanitize.LINK_SCHEMES if (tag, attribute) == ("a", "href") else sanitize.HTTP_SCHEMES
        )
        return reference_absolute(value, base_url, schemes)

    return attribute_filter


def _reference_nh3(html: str, base_url: str | None) -> str:
    return nh3.clean(
        html,
        tags=sanitize.TAGS,
        clean_content_tags=sanitize.DROPPED_WITH_CONTENT,
        attributes=dict(sanitize.ATTRIBUTES),
        attribute_filter=_reference_filter(base_url),
        strip_comments=True,
        link_rel=sanitize.LINK_REL,
        url_schemes=sanitize.LINK_SCHEMES,
    )


def reference_clean_html(
    html: str, *, base_url: str | None, max_length: int = sanitize.HTML_MAX
) -> str:
    html = _ILLEGAL.sub("", html[: sanitize.HTML_INPUT_MAX])
    if not html.strip():
        return ""
    out = _reference_nh3(_nfc(html), base_url)
    if len(out) > max_length:
        cut = out.rfind("<", 0, max_length)
        out = _reference_nh3(out[: cut if cut > 0 else max_length], base_url)
    return _ILLEGAL.sub("", out).strip()


def reference_html_to_text(html: str) -> str:
    html = _ILLEGAL.sub("", html[: sanitize.HTML_INPUT_MAX])
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    kept = nh3.clean(
        html,
        tags=sanitize._BREAKS,
        clean_content_tags=sanitize._NOT_TEXT,
        attributes={},
        link_rel=None,
    )
    return " ".join(_ILLEGAL.sub("", htmllib.unescape(_TAG.sub(" ", kept))).split())


# -- running both over what parsing produces ----------------------------------------


class Differential:
    """Stands in for clean_html and html_to_text where the parser calls them: returns
    the sanitiser's result, having checked it against the reference's."""

    def __init__(self) -> None:
        self.fragments = 0
        self.urls = 0

    def clean_html(
        self, html: str, *, base_url: str | None, max_length: int = sanitize.HTML_MAX
    ) -> str:
        got = sanitize.clean_html(html, base_url=base_url, max_length=max_length)
        assert got == reference_clean_html(html, base_url=base_url, max_length=max_length), (
            html[:300],
            base_url,
        )
        self.fragments += 1
        self.urls += got.count('href="') + got.count('src="')
        return got

    def html_to_text(self, html: str) -> str:
        got = sanitize.html_to_text(html)
        assert got == reference_html_to_text(html), html[:300]
        self.fragments += 1
        return got


@pytest.fixture
def differential(monkeypatch: pytest.MonkeyPatch) -> Iterator[Differential]:
    check = Differential()
    for module in (parse, _jsonfeed):
        monkeypatch.setattr(module, "clean_html", check.clean_html)
    for module in (parse, _fields):
        monkeypatch.setattr(module, "html_to_text", check.html_to_text)
    yield check


def _parse_both_paths(body: bytes, url: str) -> None:
    for fast in (True, False):
        try:
            parse_feed(body, source_id="s", url=url, fast=fast)
        except ParseError:  # not a feed: some corpus documents are not, on purpose
            return


def test_corpus_fragments_sanitise_as_the_reference_does(differential: Differential) -> None:
    root = shared_dir() / "corpus"
    if not root.is_dir():
        pytest.skip("../shared/corpus is not present")
    for path in corpus_files(root):
        _parse_both_paths(path.read_bytes(), "https://corpus.example/feeds/rss")
    print(f"\n{differential.fragments} corpus fragments, {differential.urls} URLs kept: same")
    assert differential.fragments > 10_000
    assert differential.urls > 10_000


def test_fixture_fragments_sanitise_as_the_reference_does(differential: Differential) -> None:
    for _, body in _fixture_documents():
        _parse_both_paths(body, "https://feeds.example/blog/rss")
    assert differential.fragments > 20


def test_benchmark_fragments_sanitise_as_the_reference_does(differential: Differential) -> None:
    pool = synth.text_pool(limit=400)
    for n in range(40):
        parse_feed(synth.feed_document(n, pool), source_id="s", url=f"https://site{n}.example/f")
    assert differential.fragments > 1_000
    assert differential.urls > 1_000


# -- generated URLs and fragments at the fast path's edges --------------------------

_BASES = [
    None,
    "",
    "https://site.example/news/1",
    "http://site.example",
    "https://Site.Example:8443/a/b/?q=1#f",
    "https://user:pw@site.example/a/",
    "HTTPS://SITE.EXAMPLE/a",
    " https://site.example/a",
    "https://site.exa\tmple/a",
    "https://[::1]/a",
    "https://[::1/a",
    "https://site.example:99999/a",
    "https:///nohost",
    "ftp://files.example/pub/",
    "mailto:someone@example.com",
    "relative/base",
    "/rooted/base",
    "https://site.example/a;p?q",
    "https://bücher.example/a",
]
_PIECES = [
    "https://", "http://", "HTTP://", "hTTps://", "//", "/", "/a", "b", ".", "..", "./",
    "../", "/./", "/../", "?", "#", "?q=1", "#frag", ";", ";p", "@", ":", ":80", ":0x",
    "%20", "%2e", " ", "\t", "\n", "\x00", "\x7f", "é", "\u2028", "[", "]", "[::1]",
    "\\", "'", '"', "&", "&amp;", "+", "=", "~", "!", "$", "(", ")", "*", ",", "mailto:",
    "javascript:", "data:", "x.example", "www.example.com", "-", "_", "0", "\ufffe",
]  # fmt: skip


_STARTS = ["https://h.example", "http://h-1.example:8080", "https://h", "/", "/a", "//h", ""]
_PLAIN_PIECES = ["/", "a", "b.c", "%41", "?", "#", "q=1", "&", "~", "'", "-", ".", "..", "//"]


def _random_url(rng: random.Random) -> str:
    """Junk half the time; else mostly what the fast path takes, with the odd trap."""
    if rng.random() < 0.5:
        return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 9)))
    pieces = [rng.choice(_STARTS)]
    for _ in range(rng.randrange(0, 7)):
        pieces.append(rng.choice(_PIECES if rng.random() < 0.1 else _PLAIN_PIECES))
    return "".join(pieces)


def test_urls_resolve_as_the_reference_resolves_them() -> None:
    rng = random.Random(20260)
    common = [
        "https://site.example/a/b?c=d#e",
        "http://site.example",
        "http://site.example:8080?x",
        "/story/1/2",
        "/",
        "/a//b",
        "//other.example/a",
        "/a/./b",
        "/a/..",
        "/a?",
        "/a#",
        "/a;b",
        "https://a.example/x.y/..z",
        "https://a.example/..",
    ]
    urls = common + [_random_url(rng) for _ in range(8_000)]
    fast = 0
    for url in urls:
        for base in _BASES:
            for schemes in (sanitize.LINK_SCHEMES, sanitize.HTTP_SCHEMES):
                want = reference_absolute(url, base, schemes)
                assert sanitize._absolute(url, base, schemes) == want, (url, base, schemes)
        fast += bool(sanitize._PLAIN_URL.fullmatch(url))
    # Guards the test: the generated URLs reach the fast path, not only urllib.
    assert fast > 1_000


def test_generated_fragments_sanitise_as_the_reference_does() -> None:
    rng = random.Random(8)
    tags = ["a href", "img src", "blockquote cite", "video poster", "audio src", "q cite"]
    for _ in range(1_500):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            tag, attribute = rng.choice(tags).split()
            url = htmllib.escape(_random_url(rng))
            parts.append(f'<{tag} {attribute}="{url}" title="t">x</{tag}> &#{rng.randrange(40)};')
        html = "".join(parts)
        base = rng.choice(_BASES)
        assert sanitize.clean_html(html, base_url=base) == reference_clean_html(
            html, base_url=base
        ), (html, base)
        assert sanitize.html_to_text(html) == reference_html_to_text(html)


def test_the_corpus_helper_is_the_shared_one(tmp_path: Path) -> None:
    # Guards the corpus test: it walks the same files as the fast-parse differential.
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.xml").write_bytes(b"<rss/>")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.xml"]
