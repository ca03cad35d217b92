"""The benchmark's feed server: a separate process on 127.0.0.1 serving <n>.xml
from a directory with ETag and Last-Modified; feeds listed in the directory's
`ignore` file answer 200 to conditional requests, like servers that ignore
validators. Files are read per request, so rewriting one changes the feed."""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.connection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LAST_MODIFIED = "Sun, 01 Nov 2026 00:00:00 GMT"


def _serve(directory: Path, conn: multiprocessing.connection.Connection) -> None:
    ignored: dict[str, object] = {"mtime": None, "feeds": frozenset()}

    def ignore() -> frozenset[int]:
        # <directory>/ignore lists feeds whose server ignores validators; re-read on change.
        path = directory / "ignore"
        mtime = path.stat().st_mtime_ns if path.exists() else None
        if mtime != ignored["mtime"]:
            text = path.read_text() if mtime is not None else ""
            ignored["feeds"] = frozenset(int(n) for n in text.split())
            ignored["mtime"] = mtime
        feeds = ignored["feeds"]
        assert isinstance(feeds, frozenset)
        return feeds

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.strip("/")
            try:
                feed = int(name.removesuffix(".xml"))
                body = (directory / f"{feed}.xml").read_bytes()
            except (ValueError, OSError):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'  # noqa: S324 - not security
            if feed not in ignore() and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 1024
    conn.send(httpd.server_address[1])
    httpd.serve_forever(poll_interval=0.05)


class FeedServer:
    def __init__(self, directory: Path) -> None:
        parent, child = multiprocessing.Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(directory, child), daemon=True
        )
        self._proc.start()
        self.port: int = parent.recv()

    def url(self, feed: int) -> str:
        return f"http://127.0.0.1:{self.port}/{feed}.xml"

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.join()
