"""A small HTTP server on 127.0.0.1: the pages shipped in msecli/web at /, a directory's files under
/media/ (Range requests, MIME types for segments), and nothing outside that directory (403)."""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB = Path(__file__).resolve().parent.parent / "web"
PAGES = {"/": "index.html", "/index.html": "index.html", "/verify.html": "verify.html", "/player.js": "player.js",
         "/player-worker.js": "player-worker.js", "/mse-core.js": "mse-core.js", "/verify.js": "verify.js",
         "/verify-worker.js": "verify-worker.js", "/echo-worker.js": "echo-worker.js"}  # fmt: skip
MIME = {".mp4": "video/mp4", ".m4s": "video/iso.segment", ".m4a": "audio/mp4", ".m4v": "video/mp4",
        ".webm": "video/webm", ".weba": "audio/webm", ".aac": "audio/aac", ".mp3": "audio/mpeg",
        ".json": "application/json", ".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8"}  # fmt: skip
CHUNK = 1 << 20
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type(path: Path) -> str:
    return MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def inside(root: Path, url_path: str) -> Path | None:
    """The file a /media/ URL path names, or None when it would lie outside `root` (any spelling: %2e%2e,
    doubled slashes, symlinks out)."""
    relative = unquote(url_path).lstrip("/")
    if "\x00" in relative:
        return None
    candidate = (root / relative).resolve()
    return candidate if candidate == root or candidate.is_relative_to(root) else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) of a single-range Range header; None for the whole file; "unsatisfiable" (416)."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # not a form this server supports: RFC 9110 lets it answer with the whole file
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def make_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()

    class Handler(BaseHTTPRequestHandler):
        server_version = "msecli"

        def log_message(self, format: str, *args: object) -> None:  # quiet: the page shows what happens
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self._respond(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._respond(body=True)

        def _respond(self, body: bool) -> None:
            path = urlsplit(self.path).path
            if path in PAGES:
                return self._file(WEB / PAGES[path], body)
            if path.startswith("/media/"):
                target = inside(root, path[len("/media/") :])
                if target is None:
                    return self._status(HTTPStatus.FORBIDDEN, body)
                return self._file(target, body)
            return self._status(HTTPStatus.NOT_FOUND, body)

        def _status(self, status: HTTPStatus, body: bool) -> None:
            text = f"{status.value} {status.phrase}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if body:
                self.wfile.write(text)

        def _file(self, path: Path, body: bool) -> None:
            if not path.is_file():
                self._status(HTTPStatus.NOT_FOUND, body)
                return
            size = path.stat().st_size
            span = byte_range(self.headers.get("Range"), size)
            if span == "unsatisfiable":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = span if isinstance(span, tuple) else (0, size - 1)
            self.send_response(HTTPStatus.PARTIAL_CONTENT if isinstance(span, tuple) else HTTPStatus.OK)
            if isinstance(span, tuple):
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Type", content_type(path))
            self.send_header("Content-Length", str(max(0, last - first + 1)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self._copy(path, first, last - first + 1)

        def _copy(self, path: Path, offset: int, length: int) -> None:
            with open(path, "rb") as source:
                source.seek(offset)
                while length > 0:
                    chunk = source.read(min(CHUNK, length))
                    if not chunk:
                        break
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client went away (a seek aborts a fetch): not an error
                    length -= len(chunk)

    return Handler


@contextmanager
def serving(root: Path, port: int = 0) -> Iterator[str]:
    """Serve in a background thread for the duration of the block; yields the base URL."""
    server = _server(root, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(root: Path, port: int, announce: Callable[[str], None]) -> None:
    """Serve in the foreground until interrupted; `announce(url)` is called once the socket listens."""
    server = _server(root, port)
    try:
        announce(f"http://127.0.0.1:{server.server_address[1]}/")
        server.serve_forever()
    finally:
        server.server_close()


def _server(root: Path, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(root))
    server.daemon_threads = True  # a browser's open connections must not keep the process alive
    return server
