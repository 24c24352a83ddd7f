"""docs/http.md and examples/site.toml are true: the reference is current, the site serves as shown."""

from __future__ import annotations

import json
import signal
import subprocess
import tomllib
from pathlib import Path

from tests.conftest import ROOT, MakeVenv, Venv, clean_env
from tests.plugins.http.conftest import Running, free_port, port_is_free


def test_reference_is_current(http_venv: Venv) -> None:
    """The generator imports the plugin's modules, so it runs where uvicorn is installed."""
    result = http_venv.run("python", ROOT / "docs" / "gen_http.py", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stderr + "\n(run docs/gen_http.py with a Python that has corehost-http)"


def test_reference_lists_every_module() -> None:
    page = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "plugins" / "http" / "pyproject.toml").read_text())["project"]
    for module_id in project["entry-points"]["corehost.modules"]:
        assert f"### `{module_id}`\n" in page


def test_example_site_serves_its_files_header_rule_and_proxied_api(make_venv: MakeVenv, tmp_path: Path) -> None:
    """examples/site.toml as the README runs it, from the repository's root, on a free port."""
    config = tomllib.loads((ROOT / "examples" / "site.toml").read_text())
    venv = make_venv("corehost", "corehost-http", "corehost-http-proxy")
    port, upstream = free_port(), free_port()
    servers = config["apps"]["http"]["servers"]
    servers["main"]["listen"] = [f"127.0.0.1:{port}"]
    servers["main"]["routes"][0]["handle"][0]["upstreams"] = [f"127.0.0.1:{upstream}"]
    servers["api"]["listen"] = [f"127.0.0.1:{upstream}"]
    path = tmp_path / "site.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([str(venv.bin("corehost")), "run", "--config", str(path)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True, env=clean_env())  # fmt: skip
    try:
        server = Running(proc, port)
        server.wait_ready()
        index = server.request("/")
        assert (index.status, index.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert index.body == (ROOT / "examples" / "site" / "index.html").read_bytes()
        assert index.headers["x-served-by"] == "corehost"
        css = server.request("/style.css")
        assert (css.status, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
        api = server.request("/api/users")
        assert (api.status, api.headers["content-type"]) == (200, "application/json")
        assert json.loads(api.body) == {"users": ["bob", "alice"]}
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
        assert proc.returncode == 130
        assert port_is_free(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
