from __future__ import annotations

import pytest

from aggregator.dedup import canonical_url, entry_key, join_url, key_entries
from aggregator.models import ParsedEntry


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM/a/b", "https://example.com/a/b"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/?", "https://example.com/"),
        ("https://example.com/a?utm_source=x&utm_medium=rss&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3&igshid=4", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://[::1]:443/a", "https://[::1]/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://amp.example.com/news/a", "https://example.com/news/a"),
        ("https://example.com/amp/news/a", "https://example.com/news/a"),
        ("https://example.com/news/a/amp/", "https://example.com/news/a"),
        ("https://example.com/news/a.amp.html", "https://example.com/news/a.html"),
        ("https://example.com/news/a.amp", "https://example.com/news/a"),
        ("https://example.com/a?amp=1&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?outputType=amp", "https://example.com/a"),
        (
            "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/a/amp/?usqp=mq331",
            "https://example.com/news/a",
        ),
        ("https://ex-com.cdn.ampproject.org/c/example.com/a", "http://example.com/a"),
        (
            "https://example.com/a?ns_mchannel=rss&ns_source=x&CMP=share&smid=tw",
            "https://example.com/a",
        ),
        ("https://example.com/amplifier", "https://example.com/amplifier"),
        ("https://amp.com/a", "https://amp.com/a"),
        ("javascript:alert(1)", None),
        ("mailto:a@example.com", None),
        ("https://example.com:99999/", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a", "example.com/a"),
        ("https://www.example.com/a/?utm_source=x", "example.com/a"),
        ("https://m.example.com/a", "example.com/a"),
        ("http://mobile.example.com:8080/a?id=1", "example.com:8080/a?id=1"),
        ("https://m.example/a", "m.example/a"),  # a domain, not a mobile host
        ("https://mobile.com/", "mobile.com/"),
        ("https://[::1]/a", "[::1]/a"),
        (None, None),
    ],
)
def test_join_url_drops_the_scheme_and_the_mobile_host(
    url: str | None, expected: str | None
) -> None:
    assert join_url(canonical_url(url)) == expected


def test_key_prefers_raw_guid_then_canonical_link_then_text() -> None:
    assert entry_key(ParsedEntry(guid="post-17", link="https://a.example/x", title="t")) == (
        "guid:post-17"
    )
    assert entry_key(
        ParsedEntry(guid=None, link="https://A.example/x?utm_source=y", title="t")
    ) == ("link:https://a.example/x")
    by_text = entry_key(ParsedEntry(guid="  ", link=None, title="Hello", summary="<p>World</p>"))
    assert by_text.startswith("text:")
    same_text = entry_key(ParsedEntry(guid=None, link=None, title="hello ", summary="world"))
    assert by_text == same_text


def test_a_guid_repeated_in_one_document_is_no_key_whatever_the_position() -> None:
    a = ParsedEntry(guid="same", link="https://x.example/1", title="One")
    b = ParsedEntry(guid="same", link="https://x.example/2", title="Two")
    c = ParsedEntry(guid="same", link=None, title="Three")
    keys = [n.key for n in key_entries([a, b, c, c])]
    assert keys[:2] == ["link:https://x.example/1", "link:https://x.example/2"]
    assert keys[2] == entry_key(ParsedEntry(guid=None, link=None, title="Three"))
    assert len(keys) == 3  # the exact repeat is dropped
    # A new first item changes no other item's key.
    new = ParsedEntry(guid="same", link="https://x.example/0", title="Zero")
    assert [n.key for n in key_entries([new, a, b, c])][1:] == keys
    # Nor is it an alias: it would name every item carrying it.
    assert not any(x.startswith(("gid:", "gpath:")) for n in key_entries([a, b]) for x in n.aliases)
    # One item repeated as it is: its guid stays its key.
    assert [n.key for n in key_entries([a, a])] == ["guid:same"]


def test_content_hash_changes_with_visible_edits_only() -> None:
    base = ParsedEntry(guid="g", link="https://x.example/1", title="One", summary="s")
    (same,) = key_entries(
        [ParsedEntry(guid="g", link="https://x.example/1", title="One", summary="s")]
    )
    (orig,) = key_entries([base])
    (edited,) = key_entries(
        [ParsedEntry(guid="g", link="https://x.example/1", title="One!", summary="s")]
    )
    assert orig.content_hash == same.content_hash
    assert orig.content_hash != edited.content_hash
    assert orig.key == edited.key


def test_aliases_name_the_entry_under_earlier_guid_forms() -> None:
    http = ParsedEntry(guid="http://www.blog.example/p/1", link=None, title="Hello There")
    https = ParsedEntry(guid="https://blog.example/p/1/", link=None, title="Hello There")
    moved = ParsedEntry(guid="https://new.example/p/1", link=None, title="Hello there")
    relative = ParsedEntry(guid="p/1", link=None, title="Hello there")
    other_title = ParsedEntry(guid="https://new.example/p/1", link=None, title="Goodbye")
    (a,) = key_entries([http])
    assert set(a.aliases) & set(key_entries([https])[0].aliases)  # gid: http -> https
    for same in (moved, relative):
        assert set(a.aliases) & set(key_entries([same])[0].aliases)
    assert not set(a.aliases) & set(key_entries([other_title])[0].aliases)
    assert key_entries([ParsedEntry(guid="urn:x:1", link=None, title="")])[0].aliases == ()


def test_a_link_shared_in_the_document_or_the_home_page_is_not_an_identity() -> None:
    a = ParsedEntry(guid="1", link="https://site.example/", title="One")
    b = ParsedEntry(guid="2", link="https://site.example/", title="Two")
    c = ParsedEntry(guid="3", link="https://site.example/c", title="Three")
    keyed = key_entries([a, b, c])
    assert [k.canonical_url for k in keyed] == [None, None, "https://site.example/c"]
    (alone,) = key_entries([c], home="https://site.example/c/")
    assert alone.canonical_url is None


def test_fingerprint_and_bands_ignore_markup_case_and_accents_but_need_enough_text() -> None:
    text = "Sonatrach signs gas deal with Eni to raise exports through TransMed"
    plain = ParsedEntry(guid=None, link=None, title="Deal", summary=text)
    marked = ParsedEntry(guid=None, link=None, title="DEAL", summary=f"<p>{text.upper()}</p>")
    accented = ParsedEntry(guid=None, link=None, title="Déal", summary=text)
    keyed = key_entries([plain]) + key_entries([marked]) + key_entries([accented])
    assert len({k.fingerprint for k in keyed}) == 1 and keyed[0].fingerprint
    assert len({k.bands for k in keyed}) == 1 and len(keyed[0].bands) == 20
    (short,) = key_entries([ParsedEntry(guid=None, link=None, title="Brief note")])
    assert short.fingerprint is None and short.bands == ()
