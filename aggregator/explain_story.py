"""`aggregator explain ENTRY`, story section: the story an entry belongs to, its
members, and why each was joined (same URL, same text, similar text)."""

from __future__ import annotations

from collections.abc import Mapping

from aggregator import curate
from aggregator.models import Member, StoredEntry
from aggregator.store import Store

_REASONS = {
    "first": "first seen: the story is published under its id",
    "url": "same article URL as #{to}",
    "fingerprint": "same title and opening text as #{to}",
    "similar": "similar text to #{to} (similarity {score:.2f})",
    "title": "same long headline as #{to} (text similarity {score:.2f})",
}


def story_lines(
    store: Store, entry: StoredEntry, titles: Mapping[str, str], *, apart: bool = False
) -> list[str]:
    """The story section for one entry, as lines of text. `apart`: some topic
    has cluster = false, so a member that starts its own exact-duplicate group
    is published apart there, under its own id."""
    members = store.story_membership(entry.id)
    founder = members[0].entry
    lines = [
        f"story #{founder.id}: published as {curate.story_uid(founder)}, dated "
        f"{founder.sort_date.isoformat(timespec='seconds')}, {len(members)} "
        f"member{'s' if len(members) != 1 else ''}",
    ]
    for member in members:
        mark = "*" if member.entry.id == entry.id else " "
        lines.append(f" {mark} #{member.entry.id} {_source(member, titles)}: {member.entry.title}")
        if member.entry.link:
            lines.append(f"     {member.entry.link}")
        lines.append(f"     {reason(member)}")
        if apart and member.entry.id != founder.id and _starts_exact_group(member.entry):
            uid = curate.story_uid(member.entry)
            lines.append(f"     topics with cluster = false publish it apart, as {uid}")
    return lines


def _starts_exact_group(entry: StoredEntry) -> bool:
    """Joined by similarity, not as an exact duplicate of an earlier member."""
    return curate.exact_key(entry) == entry.id


def reason(member: Member) -> str:
    template = _REASONS.get(member.reason, member.reason + " #{to}")
    return template.format(to=member.joined_to, score=member.score)


def _source(member: Member, titles: Mapping[str, str]) -> str:
    sid = member.entry.source_id
    title = titles.get(sid)
    return f"{title} ({sid})" if title and title != sid else sid
