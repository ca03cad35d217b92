"""Source URLs that carry credentials, or point into a private network, stay out of
the public sources.opml, and /status (`status --json`) shows them redacted."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.integration.test_cli import aggregator
from tests.loopback import LoopbackServer


def test_private_sources_are_not_published(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/missing", b"", status=404)
    keyed = server.url("/missing").replace("://", "://reader:s3cret@") + "?token=TOPSECRET"
    config = tmp_path / "config.toml"
    config.write_text(
        "[aggregator]\nper_host_delay = 0\n"
        '[sources.public]\nurl = "https://news.example/feed.xml?format=rss"\n'
        '[sources.keyed]\nurl = "https://news.example/private.xml?api_key=TOPSECRET"\n'
        '[sources.userinfo]\nurl = "https://reader:s3cret@news.example/feed.xml"\n'
        '[sources.intranet]\nurl = "https://intranet.example/feed.xml"\n'
        "allow_private_addresses = true\n"
        '[sources.off]\nurl = "https://off.example/feed.xml"\nenabled = false\n'
        f'[sources.loop]\nurl = "{keyed}"\nallow_private_addresses = true\n'
        '[topics.oil]\ntitle = "Oil"\nquery = "oil"\n',
        encoding="utf-8",
    )
    # Only the loopback source is fetched (the others' hosts do not exist): it fails,
    # and with every fetch failed, update says so in its exit status.
    done = aggregator("update", "loop", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1 and "1 sources fetched, 1 failed" in done.stdout
    opml = (tmp_path / "feeds" / "sources.opml").read_text(encoding="utf-8")
    outlines = ET.fromstring(opml).iter("outline")  # noqa: S314 - our own output
    listed = [o.get("xmlUrl") for o in outlines]
    assert listed == ["https://news.example/feed.xml?format=rss"]

    status = aggregator("status", "--json", "--config", str(config), cwd=tmp_path)
    assert "TOPSECRET" not in status.stdout and "s3cret" not in status.stdout
    by_id = {s["id"]: s for s in json.loads(status.stdout)["sources"]}
    assert by_id["keyed"]["url"] == "https://news.example/private.xml?api_key=REDACTED"
    assert by_id["userinfo"]["url"] == "https://REDACTED@news.example/feed.xml"
    assert by_id["loop"]["state"] == "failing" and by_id["loop"]["last_error"]
    assert by_id["public"]["url"] == "https://news.example/feed.xml?format=rss"
