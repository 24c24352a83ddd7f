"""``http.handlers.rewrite``: change the request's method or URI for the handlers after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from corehost_http.interfaces import Next, Request, Response


@dataclass
class Rewrite:
    """As Caddy's rewrite: ``uri`` replaces the path and/or query (``{path}`` and ``{query}``
    stand for the current ones; a ``uri`` without ``?`` keeps the query, one starting with
    ``?`` keeps the path), then ``strip_path_prefix``/``strip_path_suffix`` trim the path."""

    uri: str = ""
    strip_path_prefix: str = ""
    strip_path_suffix: str = ""
    method: str = ""

    #: Rewrites first, so every handler after it sees the rewritten request.
    corehost_before: ClassVar[tuple[str, ...]] = ("headers",)

    def validate(self) -> None:
        if not (self.uri or self.strip_path_prefix or self.strip_path_suffix or self.method):
            raise ValueError("uri, strip_path_prefix, strip_path_suffix, method: set at least one")
        if self.uri and not self.uri.startswith(("/", "?", "{")):
            raise ValueError(f"uri: {self.uri!r} must start with '/', '?' or a placeholder such as {{path}}")
        if self.strip_path_prefix and not self.strip_path_prefix.startswith("/"):
            raise ValueError(f"strip_path_prefix: {self.strip_path_prefix!r} must start with '/'")

    async def handle(self, request: Request, next: Next) -> Response:
        if self.method:
            request.method = self.method.upper()
        if self.uri:
            uri = self.uri.replace("{path}", request.path).replace("{query}", request.query)
            path, sep, query = uri.partition("?")
            if path:
                request.path = path
            if sep:
                request.query = query
        if self.strip_path_prefix and request.path.startswith(self.strip_path_prefix):
            request.path = "/" + request.path[len(self.strip_path_prefix) :].lstrip("/")
        if self.strip_path_suffix and request.path.endswith(self.strip_path_suffix):
            request.path = request.path[: -len(self.strip_path_suffix)] or "/"
        return await next(request)
