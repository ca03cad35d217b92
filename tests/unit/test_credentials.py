"""Credentials in source URLs are recognised and redacted."""

from __future__ import annotations

import pytest

from aggregator.credentials import REDACTED, has_credentials, redact, redact_text


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://news.example/feed.xml", False),
        ("https://news.example/feed?format=rss&keywords=oil", False),  # "keywords" is no key
        ("https://news.example/feed?monkey=1&passage=2", False),
        ("https://reader:s3cret@news.example/feed.xml", True),
        ("https://reader@news.example/feed.xml", True),
        ("https://github.com/me.private.atom?token=ABC", True),
        ("https://x.example/f?api_key=1", True),
        ("https://x.example/f?x-api-key=1", True),
        ("https://x.example/f?apikey=1", True),
        ("https://x.example/f?authToken=1", True),
        ("https://x.example/f?access_token=1", True),
        ("https://x.example/f?sig=1&expires=2", True),
        ("http://[::1", True),  # unparseable: kept private
    ],
)
def test_has_credentials(url: str, secret: bool) -> None:
    assert has_credentials(url) is secret


def test_redact_drops_user_information_and_secret_values_only() -> None:
    url = "https://reader:s3cret@news.example:8443/feed.xml?format=rss&token=ABC#top"
    assert (
        redact(url)
        == f"https://{REDACTED}@news.example:8443/feed.xml?format=rss&token={REDACTED}#top"
    )
    plain = "https://news.example/feed.xml?format=rss&keywords=oil"
    assert redact(plain) == plain
    assert redact("http://[::1]:8080/f?key=k") == f"http://[::1]:8080/f?key={REDACTED}"


def test_redact_text_replaces_only_urls_with_credentials() -> None:
    keyed, plain = "https://x.example/f?token=ABC", "https://y.example/f"
    message = f"redirect loop: {keyed} -> {plain}"
    assert redact_text(message, [keyed, plain]) == (
        f"redirect loop: https://x.example/f?token={REDACTED} -> {plain}"
    )
