"""The two folds: queries' `match_fold`, and story identity's frozen `fold`."""

from __future__ import annotations

import pytest

from aggregator.textfold import fold, match_fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Oil <$70, gas >$3 as OPEC+ meets", "oil <$70, gas >$3 as opec+ meets"),
        ("AT&amp;T", "at&t"),  # double-escaped titles are common
        ("Diyarbakır DİYARBAKIR", "diyarbakir diyarbakir"),
        ("Wałęsa Łódź", "walesa lodz"),
        ("Ørsted Đorđe Eð", "orsted dorde ed"),
        ("Æsir Œuvre Þór Straße", "aesir oeuvre thor strasse"),
        (
            "Öl\u00adpreis zero\u200bwidth jo\u200c\u200din\u2060ed \ufeffbom",
            "olpreis zerowidth joined bom",
        ),
        (
            "oil\u2010rich oil\u2011rich oil\u2012rich oil\u2013rich",
            "oil-rich oil-rich oil-rich oil-rich",
        ),
        ("gas\u00a0OR\u2003oil", "gas or oil"),
    ],
)
def test_match_fold_of_plain_text(text: str, folded: str) -> None:
    assert match_fold(text) == folded


@pytest.mark.parametrize(
    ("html", "folded"),
    [
        ("<span>B</span>enghazi and <b>Trip</b>oli", "benghazi and tripoli"),
        ('<a href="/x">Sha</a><em>rara</em> km<sup>2</sup>', "sharara km2"),
        ("<p>oil</p><p>gas</p>line<br>break<br/>here", "oil gas line break here"),
        ("<li>one</li><li>two</li><div>three</div>", "one two three"),
        ("Öl&shy;preis &lt;b&gt; &amp;", "olpreis <b> &"),
        ("<SPAN CLASS='x'>B</SPAN>enghazi <bdo>x</bdo><body>y", "benghazi x y"),
    ],
)
def test_match_fold_of_markup(html: str, folded: str) -> None:
    assert match_fold(html, markup=True) == folded


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        # Exactly what releases before match_fold stored: story identities (dedup's
        # aliases, fingerprints, profile shingles) are made of these words.
        ("Oil <$70, gas >$3 as OPEC+ meets", "oil $3 as opec+ meets"),
        ("<span>B</span>enghazi <b>Trip</b>oli", "b enghazi trip oli"),
        ("Diyarbakır Wałęsa Ørsted Đorđe Æsir Œuvre Þór Straße",
         "diyarbakır wałesa ørsted đorđe æsir œuvre þor strasse"),
        ("Öl&shy;preis zero\u200bwidth", "ol\u00adpreis zero\u200bwidth"),
        ("oil\u2010rich oil\u2013rich a\u00a0b", "oil\u2010rich oil\u2013rich a b"),
        ("Libya’s ÉCOLE&nbsp;Niño", "libya's ecole nino"),
    ],
)  # fmt: skip
def test_identity_fold_is_frozen(text: str, folded: str) -> None:
    assert fold(text) == folded
