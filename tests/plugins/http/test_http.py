"""The http app, its handlers and matchers, served by a real ``corehost run`` and asked by a real client.

One server (module scope) carries every route below; each test asks it on
its own path, host or header, so that a route's effect is seen on the wire.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.conftest import Venv
from tests.plugins.http.conftest import Running, serving

INDEX = "<!doctype html><title>site</title>"
DATA = bytes(range(256)) * 4  # 1024 bytes, every offset recognisable
BIG = os.urandom(700 * 1024)  # several read chunks: streamed


def make_site(base: Path) -> Path:
    site = base / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text(INDEX)
    (site / "style.css").write_text("body { color: red }")
    (site / "app.js").write_text("console.log(1)")
    (site / "data.bin").write_bytes(DATA)
    (site / "big.bin").write_bytes(BIG)
    (site / "sub" / "index.html").write_text("sub index")
    (base / "secret.txt").write_text("outside the root")
    (site / "link-out").symlink_to(base / "secret.txt")
    (site / "link-in").symlink_to(site / "style.css")
    return site


def text(status: int, body: str, **extra: Any) -> dict[str, Any]:
    return {"module": "static_response", "status": status, "body": body, **extra}


def routes(site: Path) -> list[dict[str, Any]]:
    return [
        {"match": [{"module": "path", "paths": ["/files/*"]}],
         "handle": [{"module": "headers", "response": {"set": {"X-Served-By": "corehost"}}},
                    {"module": "rewrite", "strip_path_prefix": "/files"},
                    {"module": "file_server", "root": str(site)}]},
        {"match": [{"module": "path", "paths": ["/api/*"]}, {"module": "method", "methods": ["get", "HEAD"]}],
         "handle": [text(200, "api read")]},
        {"match": [{"module": "path", "paths": ["/api/*"]}, {"module": "method", "methods": ["POST"]}],
         "handle": [text(201, "api write")]},
        {"match": [{"module": "host", "hosts": ["*.example.test"]}], "handle": [text(200, "wildcard host")]},
        {"match": [{"module": "host", "hosts": ["Exact.test"]}], "handle": [text(200, "exact host")]},
        {"match": [{"module": "header", "headers": {"X-Mode": ["beta*", "gamma"]}}], "handle": [text(200, "mode")]},
        {"match": [{"module": "header", "headers": {"X-Any": ["*"]}}], "handle": [text(200, "any value")]},
        {"match": [{"module": "path", "paths": ["/echo/*"]}],
         "handle": [{"module": "headers",
                     "request": {"set": {"X-Set": "set"}, "add": {"X-Multi": ["two"]}, "delete": ["X-Drop"]},
                     "response": {"add": {"X-Added": ["a", "b"]}, "delete": ["X-Gone"]}},
                    {"module": "rewrite", "strip_path_prefix": "/echo"},
                    {"module": "whoami", "title": "echo"}]},
        {"match": [{"module": "path", "paths": ["/old"]}],
         "handle": [{"module": "rewrite", "uri": "/new?{query}&via=rewrite", "method": "patch"},
                    {"module": "whoami"}]},
        {"match": [{"module": "path", "paths": ["/static"]}],
         "handle": [{"module": "headers", "response": {"delete": ["X-Gone"]}},
                    text(418, "teapot", headers={"X-Gone": "1", "X-Kept": ["1", "2"]})]},
        {"match": [{"module": "path", "paths": ["/first"]}], "handle": [text(200, "first")]},
        {"match": [{"module": "path", "paths": ["/first", "/second"]}], "handle": [text(200, "second")]},
        {"match": [{"module": "path", "paths": ["/falls-through"]}],
         "handle": [{"module": "headers", "response": {"set": {"X-Seen": "yes"}}}]},
        {"match": [{"module": "path", "paths": ["*.php"]}], "handle": [text(403, "no php")]},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(http_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("http-site")
    with serving(http_venv, base, routes(make_site(base))) as running:
        yield running


def test_static_site_index_and_content_types(server: Running) -> None:
    index = server.request("/files/")
    assert (index.status, index.text, index.headers["content-type"]) == (200, INDEX, "text/html; charset=utf-8")
    assert index.headers["x-served-by"] == "corehost"
    assert index.headers["content-length"] == str(len(INDEX))
    assert server.request("/files/style.css").headers["content-type"] == "text/css; charset=utf-8"
    assert server.request("/files/app.js").headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    assert server.request("/files/data.bin").headers["content-type"] == "application/octet-stream"
    assert server.request("/files/sub/").text == "sub index"
    assert server.request("/files/link-in").text == "body { color: red }"


def test_folder_without_slash_redirects(server: Running) -> None:
    """Relative to the URL asked for, so that a prefix a rewrite stripped is kept."""
    reply = server.request("/files/sub?x=1")
    assert (reply.status, reply.headers["location"]) == (308, "./sub/?x=1")
    assert urljoin("http://h/files/sub?x=1", reply.headers["location"]) == "http://h/files/sub/?x=1"


def test_missing_file_is_404(server: Running) -> None:
    assert server.request("/files/nope.html").status == 404


def test_big_file_is_streamed_whole(server: Running) -> None:
    reply = server.request("/files/big.bin")
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, BIG, str(len(BIG)))


def test_head_has_headers_and_no_body(server: Running) -> None:
    get, head = server.request("/files/data.bin"), server.request("/files/data.bin", "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["content-length"] == get.headers["content-length"] == "1024"
    assert head.headers["etag"] == get.headers["etag"]
    big = server.request("/files/big.bin", "HEAD")
    assert (big.body, big.headers["content-length"]) == (b"", str(len(BIG)))


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [("bytes=0-9", 0, 10), ("bytes=1000-", 1000, 1024), ("bytes=-24", 1000, 1024), ("bytes=10-5000", 10, 1024)],
)
def test_single_range_is_206(server: Running, spec: str, start: int, end: int) -> None:
    reply = server.request("/files/data.bin", headers={"Range": spec})
    assert (reply.status, reply.body) == (206, DATA[start:end])
    assert reply.headers["content-range"] == f"bytes {start}-{end - 1}/1024"


def test_range_in_a_streamed_file(server: Running) -> None:
    reply = server.request("/files/big.bin", headers={"Range": "bytes=100000-600000"})
    assert (reply.status, reply.body) == (206, BIG[100000:600001])


@pytest.mark.parametrize("spec", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_range_is_416(server: Running, spec: str) -> None:
    reply = server.request("/files/data.bin", headers={"Range": spec})
    assert (reply.status, reply.headers["content-range"]) == (416, "bytes */1024")


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "items=0-1", "bytes=x-y"])
def test_range_not_honoured_gives_the_whole_file(server: Running, spec: str) -> None:
    reply = server.request("/files/data.bin", headers={"Range": spec})
    assert (reply.status, reply.body) == (200, DATA)


def test_etag_revalidation_is_304(server: Running) -> None:
    etag = server.request("/files/style.css").headers["etag"]
    reply = server.request("/files/style.css", headers={"If-None-Match": etag})
    assert (reply.status, reply.body) == (304, b"")


def test_other_methods_are_405(server: Running) -> None:
    reply = server.request("/files/style.css", "DELETE")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, HEAD")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/files/../secret.txt", 404),
        ("/files/sub/../../secret.txt", 404),
        ("/files/%2e%2e/secret.txt", 404),
        ("/files/%2E%2E%2Fsecret.txt", 404),
        ("/files/sub/%2e%2e/%2e%2e/secret.txt", 404),
        ("/files/..%5csecret.txt", 404),
        ("/files/%00", 404),
        ("/files//etc/passwd", 404),
        ("/files/link-out", 403),
    ],
)
def test_path_traversal_is_refused(server: Running, path: str, status: int) -> None:
    reply = server.request(path)
    assert reply.status == status
    assert b"outside the root" not in reply.body


def test_path_glob_and_method_matchers(server: Running) -> None:
    assert server.request("/api/users").text == "api read"
    assert server.request("/api/").text == "api read"
    assert server.request("/API/users").text == "api read"  # paths match case-insensitively, as in Caddy
    assert (server.request("/api/users", "HEAD").status, server.request("/api/users", "HEAD").body) == (200, b"")
    reply = server.request("/api/users", "POST", body=b"{}")
    assert (reply.status, reply.text) == (201, "api write")
    assert server.request("/api/users", "DELETE").status == 404
    assert server.request("/api").status == 404
    assert server.request("/index.php").text == "no php"


def test_host_matcher(server: Running) -> None:
    assert server.request("/", headers={"Host": "www.example.test:8080"}).text == "wildcard host"
    assert server.request("/", headers={"Host": "EXACT.test"}).text == "exact host"
    assert server.request("/", headers={"Host": "example.test"}).status == 404
    assert server.request("/", headers={"Host": "a.b.example.test"}).status == 404


def test_header_matcher(server: Running) -> None:
    assert server.request("/", headers={"X-Mode": "beta-2"}).text == "mode"
    assert server.request("/", headers={"X-Mode": "gamma"}).text == "mode"
    assert server.request("/", headers={"X-Mode": "gamma-ray"}).status == 404
    assert server.request("/", headers={"x-any": ""}).text == "any value"


def test_headers_handler_on_request_and_response(server: Running) -> None:
    reply = server.request("/echo/x?q=1", headers={"X-Multi": "one", "X-Drop": "bye", "X-Set": "old"})
    lines = reply.text.splitlines()
    assert lines[:3] == ["echo", "GET /x ?q=1", "body: 0 bytes"]
    assert "x-set: set" in lines and "x-set: old" not in lines
    assert [line for line in lines if line.startswith("x-multi")] == ["x-multi: one", "x-multi: two"]
    assert not any(line.startswith("x-drop") for line in lines)
    assert reply.headers.get_all("x-added") == ["a", "b"]


def test_headers_handler_deletes_a_response_field(server: Running) -> None:
    reply = server.request("/static")
    assert (reply.status, reply.text) == (418, "teapot")
    assert reply.headers["x-gone"] is None
    assert reply.headers.get_all("x-kept") == ["1", "2"]


def test_rewrite_uri_and_method(server: Running) -> None:
    reply = server.request("/old?a=1", body=b"hello")
    assert reply.text.splitlines()[1:3] == ["PATCH /new ?a=1&via=rewrite", "body: 5 bytes"]


def test_routes_in_order_first_match_wins(server: Running) -> None:
    assert server.request("/first").text == "first"
    assert server.request("/second").text == "second"


def test_end_of_chain_and_no_route_are_empty_404s(server: Running) -> None:
    through = server.request("/falls-through")
    assert (through.status, through.body, through.headers["x-seen"]) == (404, b"", "yes")
    nothing = server.request("/nothing/here")
    assert (nothing.status, nothing.body) == (404, b"")
