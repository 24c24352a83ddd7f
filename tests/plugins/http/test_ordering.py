"""A route's ``handle`` table runs in the handlers' chain order; a ``handle`` list as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, MakeVenv, Venv
from tests.plugins.http.conftest import Running, serving

#: Written in the reverse of the chain order: a table says which handlers, the namespace says in what order.
TABLE: dict[str, Any] = {
    "whoami": {"title": "table"},
    "headers": {"request": {"set": {"X-Seen-Path": "yes"}}, "response": {"set": {"X-Chain": "headers"}}},
    "rewrite": {"strip_path_prefix": "/table"},
}


def routes() -> list[dict[str, Any]]:
    return [
        {"match": [{"module": "path", "paths": ["/table/*"]}], "handle": TABLE},
        {"match": [{"module": "path", "paths": ["/answer"]}],
         "handle": {"static_response": {"body": "answered"}, "headers": {"response": {"set": {"X-Chain": "on"}}}}},
        # The same two as a list, in that order: the list is kept, so headers never runs.
        {"match": [{"module": "path", "paths": ["/listed"]}],
         "handle": [{"module": "static_response", "body": "listed"},
                    {"module": "headers", "response": {"set": {"X-Chain": "on"}}}]},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(http_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(http_venv, tmp_path_factory.mktemp("http-order"), routes()) as running:
        yield running


def test_the_handlers_are_listed_in_chain_order(http_venv: Venv) -> None:
    listed = http_venv.corehost("list-modules", "--namespace", "http.handlers")
    assert listed.stdout.splitlines() == [
        "http.handlers.rewrite",
        "http.handlers.headers",
        "http.handlers.static_response",
        "http.handlers.file_server",
        "http.handlers.whoami",
    ], listed.stderr


def test_the_order_docs_http_shows_is_the_one_listed_with_the_proxy_installed(make_venv: MakeVenv) -> None:
    page = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n\$ (corehost list-modules --namespace http.handlers)\n(.*?)```", page, re.S)
    assert block, "docs/http.md lost its handler order sample"
    venv = make_venv("corehost", "corehost-http", "corehost-http-proxy")
    listed = venv.run(*block.group(1).split())
    assert listed.stdout == block.group(2), listed.stderr


def test_a_handle_table_runs_in_chain_order(server: Running) -> None:
    reply = server.request("/table/page?q=1")
    assert reply.status == 200
    # rewrite ran first (whoami sees the stripped path), then headers (on the request and the response).
    assert reply.text.splitlines()[:2] == ["table", "GET /page ?q=1"]
    assert "x-seen-path: yes" in reply.text.splitlines()
    assert reply.headers["X-Chain"] == "headers"


def test_a_terminal_handler_in_a_table_runs_after_headers_but_a_list_keeps_its_order(server: Running) -> None:
    answered = server.request("/answer")
    assert (answered.status, answered.text, answered.headers["X-Chain"]) == (200, "answered", "on")
    listed = server.request("/listed")
    assert (listed.status, listed.text, listed.headers["X-Chain"]) == (200, "listed", None)
