from __future__ import annotations

import pytest

from aggregator.dedup import canonical_url, entry_key, key_entries
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
        ("javascript:alert(1)", None),
        ("mailto:a@example.com", None),
        ("https://example.com:99999/", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


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


def test_repeated_guids_in_one_document_are_disambiguated_deterministically() -> None:
    a = ParsedEntry(guid="same", link="https://x.example/1", title="One")
    b = ParsedEntry(guid="same", link="https://x.example/2", title="Two")
    first = [n.key for n in key_entries([a, b, a])]
    again = [n.key for n in key_entries([a, b, a])]
    assert first == again
    assert len(first) == 2  # the exact repeat is dropped
    assert first[0] == "guid:same"
    assert first[1].startswith("guid:same#")


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
