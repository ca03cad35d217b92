"""Text hygiene and HTML sanitising: what feeds send is hostile until cleaned."""

from __future__ import annotations

import re
import time

import pytest

from aggregator.sanitize import (
    HTML_INPUT_MAX,
    clean_html,
    clean_text,
    html_to_text,
    safe_url,
    strip_illegal,
)

BASE = "https://site.example/blog/post.html"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b\x01c\x08d\x0be\x0cf\x1fg", "abcdefg"),  # C0 controls removed
        ("tab\tnew\nline\rcr", "tab new line cr"),  # allowed ones collapse to spaces
        ("x\ufffey\uffffz", "xyz"),  # non-characters XML forbids
        ("lone\ud800surrogate\udfff", "lonesurrogate"),
        ("e\u0301t\u0065\u0301", "\u00e9t\u00e9"),  # NFC: e + combining acute -> é
        ("  lots   of\u00a0\u2003space  ", "lots of space"),
        ("DEL\x7fstays, NEL\u0085is space", "DEL\x7fstays, NEL is space"),  # XML-legal
        ("emoji 🎉 stay", "emoji 🎉 stay"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_caps_length_and_work() -> None:
    assert clean_text("word " * 1000, max_length=12) == "word word wo"
    started = time.perf_counter()
    assert len(clean_text("x" * 50_000_000)) == 1000  # default cap, cut before normalising
    assert time.perf_counter() - started < 2


def test_clean_text_survives_leading_whitespace_flood() -> None:
    assert clean_text(" " * 100_000 + "title") == "title"


def test_strip_illegal_keeps_newlines() -> None:
    assert strip_illegal("a\nb\x00\tc\r") == "a\nb\tc\r"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://a.example/x?y=1#z", None, "https://a.example/x?y=1#z"),
        ("HTTP://A.example/x", None, "http://A.example/x"),
        ("/about", BASE, "https://site.example/about"),
        ("next.html", BASE, "https://site.example/blog/next.html"),
        ("//cdn.example/i.png", BASE, "https://cdn.example/i.png"),
        ("  https://a.example/padded  ", None, "https://a.example/padded"),
        ("https://a.example/with space", None, "https://a.example/with%20space"),
        ("https://a.example/br\nok\ten", None, "https://a.example/broken"),
        ("/relative-without-base", None, None),
        ("javascript:alert(1)", BASE, None),
        ("JavaScript:alert(1)", None, None),
        (" javascript:alert(1)", BASE, None),
        ("java\tscript:alert(1)", BASE, None),
        ("java\nscript:alert(1)", None, None),
        ("data:text/html;base64,PHNjcmlwdD4=", BASE, None),
        ("vbscript:msgbox", BASE, None),
        ("mailto:someone@example.com", BASE, None),  # not a web page
        ("ftp://files.example/x", None, None),
        ("file:///etc/passwd", None, None),
        ("http:///no-host", None, None),
        ("http://[::1", None, None),  # urlsplit raises ValueError
        ("https://a.example/\x00nul", None, None),
        ("https://a.example/" + "x" * 5000, None, None),
        ("", BASE, None),
        (None, BASE, None),
    ],
)
def test_safe_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_url(url, base_url=base) == expected


# Each vector, once cleaned, must not contain any of the forbidden fragments.
XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<svg onload=alert(1)>",
    "<math><mtext><mglyph><style><img src=x onerror=alert(1)></style></mglyph></mtext></math>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    "<!--><img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)>-->",
    "<iframe src=https://evil.example></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="https://evil.example"><input name=x><button>go</button></form>',
    '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<video poster="javascript:alert(1)"></video><audio src="javascript:alert(1)"></audio>',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    "<template><script>alert(1)</script></template>",
    '<a href="https://ok.example" target="_top" ping="https://track.example">ok</a>',
]
FORBIDDEN = re.compile(
    r"(?i)<script|<svg|<math|<style|<iframe|<form|<input|<object|<embed|<meta|<base|<link"
    r"|javascript:|data:|vbscript:|\son\w+\s*=|style=|srcdoc|ping=|target="
)


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_clean_html_removes_xss(vector: str) -> None:
    for base in (BASE, None):
        cleaned = clean_html(vector, base_url=base)
        assert not FORBIDDEN.search(cleaned), cleaned


def test_comment_trick_comes_out_harmless() -> None:
    cleaned = clean_html("<!--><img src=x onerror=alert(1)>-->", base_url=BASE)
    assert "onerror" not in cleaned
    assert "<!--" not in cleaned
    assert cleaned.startswith('<img src="https://site.example/blog/x">')


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (
            '<a href="/about">About</a>',
            '<a href="https://site.example/about" rel="noopener noreferrer nofollow">About</a>',
        ),
        ('<img src="pic.png" alt="A">', '<img src="https://site.example/blog/pic.png" alt="A">'),
        ('<img src="//cdn.example/p.png">', '<img src="https://cdn.example/p.png">'),
        (
            '<blockquote cite="/src">q</blockquote>',
            '<blockquote cite="https://site.example/src">q</blockquote>',
        ),
        (
            '<a href="mailto:me@example.com">mail</a>',
            '<a href="mailto:me@example.com" rel="noopener noreferrer nofollow">mail</a>',
        ),
        ('<img src="mailto:me@example.com">', "<img>"),  # mailto only for links
        (
            '<a href="#note-1">1</a>',
            f'<a href="{BASE}#note-1" rel="noopener noreferrer nofollow">1</a>',
        ),
    ],
)
def test_clean_html_makes_urls_absolute(fragment: str, expected: str) -> None:
    assert clean_html(fragment, base_url=BASE) == expected


def test_clean_html_drops_unparseable_urls() -> None:
    # The URL filter runs inside nh3; an exception there would only be "unraisable".
    fragment = '<a href="http://[::1">x</a><img src="https://a.example:99999999999999/">'
    assert clean_html(fragment, base_url=BASE) == '<a rel="noopener noreferrer nofollow">x</a><img>'


def test_clean_html_without_base_drops_relative_urls() -> None:
    assert clean_html('<a href="/x">x</a><img src="y.png">', base_url=None) == (
        '<a rel="noopener noreferrer nofollow">x</a><img>'
    )


def test_clean_html_keeps_article_markup() -> None:
    fragment = (
        "<h2>Title</h2><p>Some <strong>bold</strong>, <em>em</em> and <code>code</code>.</p>"
        "<ul><li>one</li></ul><pre>  keep\n    indentation</pre>"
        '<figure><img src="https://i.example/a.png" alt="a"><figcaption>cap</figcaption></figure>'
        '<table><thead><tr><th colspan="2">h</th></tr></thead><tbody><tr><td>1</td><td>2</td>'
        "</tr></tbody></table>"
    )
    assert clean_html(fragment, base_url=BASE) == fragment


def test_clean_html_unwraps_unknown_tags_and_drops_classes() -> None:
    cleaned = clean_html(
        '<section class="x" id="y"><custom-el>text</custom-el></section>', base_url=BASE
    )
    assert cleaned == "text"


def test_clean_html_removes_xml_illegal_characters() -> None:
    cleaned = clean_html("<p>a&#1;b\x02c&#xFFFE;d\ud800e&#xD800;f</p>", base_url=BASE)
    assert not XML_ILLEGAL.search(cleaned)
    assert cleaned.startswith("<p>abc")


def test_clean_html_bounds_size_and_stays_well_formed() -> None:
    fragment = '<p><a href="/x">link</a> text</p>' * 10_000
    cleaned = clean_html(fragment, base_url=BASE, max_length=50_000)
    assert 40_000 < len(cleaned) <= 51_000
    assert cleaned.endswith("</p>")


def test_clean_html_bounds_work_on_enormous_input() -> None:
    started = time.perf_counter()
    cleaned = clean_html("<b>" + "x" * (HTML_INPUT_MAX * 2), base_url=None)
    assert len(cleaned) <= 1_000_100
    assert time.perf_counter() - started < 10


def test_clean_html_empty() -> None:
    assert clean_html("", base_url=BASE) == ""
    assert clean_html("  \n ", base_url=BASE) == ""


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<b>Bold</b> &amp; <i>italic</i>", "Bold & italic"),
        ("Caf&eacute; &#8220;quoted&#8221; &#x1F600;", "Café “quoted” 😀"),
        ("one<br>two<p>three</p>four", "one two three four"),
        ("<script>alert(1)</script>visible<style>p{}</style>", "visible"),
        ("a &lt;tag&gt; shown as text", "a <tag> shown as text"),
        ("bad &#xD800; ref &#0; and &#1;", "bad \ufffd ref \ufffd and"),
        ("unclosed <b>bold", "unclosed bold"),
        ("x < y and y > z", "x < y and y > z"),
        ("<![ x ]]>marked section", "marked section"),  # html.parser raised here
        ("<![if !IE]>x<![endif]> <!-- c --> y", "x y"),
        ("AT&T", "AT&T"),
    ],
)
def test_html_to_text(fragment: str, expected: str) -> None:
    assert html_to_text(fragment) == expected
