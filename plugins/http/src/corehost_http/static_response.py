"""``http.handlers.static_response``: a fixed status, headers and body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from corehost import Context
from corehost_http.interfaces import Headers, Next, Request, Response


@dataclass
class StaticResponse:
    """Answers every request it gets with ``status``, ``headers`` (name → value or values) and ``body``."""

    status: int = 200
    headers: dict[str, str | list[str]] = field(default_factory=dict)
    body: str = ""

    #: Terminal (it never calls ``next``): after the handlers that change the request or response.
    corehost_after: ClassVar[tuple[str, ...]] = ("headers",)
    corehost_before: ClassVar[tuple[str, ...]] = ("file_server",)

    def provision(self, ctx: Context) -> None:
        self._headers = Headers((name, value) for name, values in self.headers.items() for value in _values(values))
        self._body = self.body.encode()

    def validate(self) -> None:
        if not 100 <= self.status <= 999:
            raise ValueError(f"status: {self.status} is not an HTTP status code (100-999)")

    async def handle(self, request: Request, next: Next) -> Response:
        return Response(self.status, self._headers.copy(), self._body)


def _values(values: str | list[str]) -> list[str]:
    return [values] if isinstance(values, str) else values
