"""``http.handlers.file_server``: files under ``root``, never anything outside it."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from corehost import Context
from corehost_http.interfaces import Next, Request, Response

#: Files up to this size are read in one call; larger ones are streamed in chunks of it.
CHUNK = 256 * 1024


@dataclass
class FileServer:
    """Serves GET and HEAD from ``root``: ``index_names`` for a folder, the content type from the
    file name, single byte ranges (206, or 416 when unsatisfiable), ETag and Last-Modified.

    A path with a ``..`` segment (also percent-encoded) or a NUL is refused with 404; a file
    that resolves outside ``root`` (a symbolic link leading out) with 403. A missing file is a
    404, or goes on to the next handler with ``pass_thru``.
    """

    root: str
    index_names: list[str] = field(default_factory=lambda: ["index.html"])
    pass_thru: bool = False

    #: Last, as in Caddy: a file answers only what no handler before it did.
    corehost_after: ClassVar[tuple[str, ...]] = ("headers", "static_response")

    def provision(self, ctx: Context) -> None:
        self._root = Path(self.root).resolve()

    def validate(self) -> None:
        if not self._root.is_dir():
            raise ValueError(f"root: {self.root!r} is not a folder (resolved to {self._root})")
        for name in self.index_names:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"index_names: {name!r} is not a file name")

    async def handle(self, request: Request, next: Next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, [("allow", "GET, HEAD")])
        parts = [p for p in request.path.split("/") if p]
        if any(p == ".." or "\x00" in p or "\\" in p for p in parts):
            return Response(404)
        target = self._root.joinpath(*parts)
        try:
            real = target.resolve()
            if not real.is_relative_to(self._root):
                return Response(403)
            info = real.stat()
            if stat.S_ISDIR(info.st_mode):
                if not request.path.endswith("/"):
                    return Response(308, [("location", folder_location(request))])
                real, info = self._index(real)
        except (FileNotFoundError, NotADirectoryError):
            return await next(request) if self.pass_thru else Response(404)
        except PermissionError:
            return Response(403)
        return self._serve(request, real, info)

    def _index(self, folder: Path) -> tuple[Path, os.stat_result]:
        for name in self.index_names:
            candidate = (folder / name).resolve()
            if candidate.is_relative_to(self._root) and candidate.is_file():
                return candidate, candidate.stat()
        raise FileNotFoundError(folder)

    def _serve(self, request: Request, path: Path, info: os.stat_result) -> Response:
        size = info.st_size
        etag = f'"{info.st_mtime_ns:x}-{size:x}"'
        headers = [
            ("content-type", content_type(path.name)),
            ("accept-ranges", "bytes"),
            ("etag", etag),
            ("last-modified", formatdate(info.st_mtime, usegmt=True)),
        ]
        if etag in (request.headers.get("if-none-match") or "").split(", "):
            return Response(304, headers[2:])
        start, end = 0, size
        status = 200
        spec = request.headers.get("range")
        if spec is not None:
            try:
                wanted = byte_range(spec, size)
            except ValueError:
                wanted = (0, size)
            else:
                if wanted is None:
                    return Response(416, [("content-range", f"bytes */{size}")])
                status = 206
                headers.append(("content-range", f"bytes {wanted[0]}-{wanted[1] - 1}/{size}"))
            start, end = wanted
        headers.append(("content-length", str(end - start)))
        if request.method == "HEAD":
            return Response(status, headers)
        if end - start <= CHUNK:
            with path.open("rb") as f:
                f.seek(start)
                return Response(status, headers, f.read(end - start))
        return Response(status, headers, _stream(path, start, end))


def folder_location(request: Request) -> str:
    """A folder's URL with its slash, relative to the request's own (``./sub/``), so that it is
    right whatever a ``rewrite`` before this handler stripped from the path."""
    query = f"?{request.query}" if request.query else ""
    return f"./{quote(request.path.rsplit('/', 1)[1])}/{query}"


def content_type(name: str) -> str:
    """The content type ``mimetypes`` gives the file name; text types are served as UTF-8."""
    kind, _ = mimetypes.guess_type(name)
    if kind is None:
        return "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json", "image/svg+xml"):
        return f"{kind}; charset=utf-8"
    return kind


def byte_range(spec: str, size: int) -> tuple[int, int] | None:
    """The (start, end) of a single-range ``Range`` header, end exclusive; ``None`` when unsatisfiable.

    A header this server does not honour (another unit, several ranges, bad syntax)
    raises ValueError: it is answered with the whole file, as RFC 9110 allows.
    """
    unit, _, ranges = spec.partition("=")
    first, dash, last = ranges.strip().partition("-")
    if unit.strip().lower() != "bytes" or not dash or not (first or last):
        raise ValueError(spec)
    if (first and not first.isdigit()) or (last and not last.isdigit()):
        raise ValueError(spec)
    if not first:
        length = int(last)
        return (max(size - length, 0), size) if length and size else None
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        return None
    return start, end


async def _stream(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    """The bytes [start, end) of ``path``, read off the event loop in CHUNK pieces."""
    f = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(f.seek, start)
        left = end - start
        while left > 0:
            chunk = await asyncio.to_thread(f.read, min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        f.close()
