"""Rebuilds follow the lock: unchanged inputs write nothing, an edited plugin resolves nothing.

Each test builds from its own copy of the repo's plugins (never the repo's
own folders, which it edits), so the builder's session cache holds the
lock and build record of that copy only. Whether a resolve ran is read
from ``--json``'s ``steps`` (``resolve`` when uv resolved, ``lock`` when the
last lock was reused); timings are bench/'s business, not asserted here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.builder.conftest import Builder, Bundle, MakePlugin, copy_project
from tests.conftest import ROOT, build_wheel

KINDS = {"venv": ("--venv", "venv"), "pyz": ("--output", "x.pyz")}
AHEAD = "guards passed inside it, written while the staged venv's guards ran"
UP_TO_DATE = "is up to date: same inputs, same lock, unchanged since it was built; nothing was written"
SEEDED = "(linked while the wheels were built)"


def plugins_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    for name in ("greet", "greeter-en"):
        copy_project(ROOT / "plugins" / name, folder / name)
    return folder


def build(builder: Builder, *args: str | Path) -> tuple[dict[str, Any], str]:
    result = builder.ok("build", *args, "--json")
    return json.loads(result.stdout), result.stderr


def state(path: Path) -> list[tuple[str, int, int]]:
    """Name, inode and mtime of the destination's folder entries (and of the destination itself)."""
    entries = [path.parent, *sorted(path.parent.iterdir())]
    return [(p.name, p.stat().st_ino, p.stat().st_mtime_ns) for p in entries]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_unchanged_rebuild_is_up_to_date_and_writes_nothing(builder: Builder, tmp_path: Path, kind: str) -> None:
    flag, name = KINDS[kind]
    plugins, dest = plugins_copy(tmp_path), tmp_path / "out" / name
    first, _ = build(builder, "--plugins-dir", plugins, flag, dest)
    assert first["up_to_date"] is False
    before = state(dest)
    again, stderr = build(builder, "--plugins-dir", plugins, flag, dest)
    assert again["up_to_date"] is True
    assert set(again["steps"]) == {"wheels"}, "nothing but finding the local wheels ran"
    assert stderr.splitlines() == [f"corehost-build: {dest} {UP_TO_DATE} (--upgrade resolves again)"]
    assert state(dest) == before, "the destination and its folder are untouched"
    assert again["modules"] == first["modules"] and again["packages"] == first["packages"]
    assert (again["output"] is None) == (kind == "venv") and again["bundle"] == first["bundle"]
    # What the up-to-date path imports: no runtime beyond errors and the bundle's tags, none of the build's steps.
    traced = builder.venv.run(
        "python", "-X", "importtime", "-m", "corehost_build", "build", "--plugins-dir", plugins, flag, dest,
        env={"COREHOST_BUILD_CACHE": str(builder.cache)},
    )  # fmt: skip
    assert traced.returncode == 0 and UP_TO_DATE in traced.stderr, traced.stderr
    imported = {
        line.rpartition("|")[2].strip() for line in traced.stderr.splitlines() if line.startswith("import time:")
    }
    assert "corehost_build.build" in imported, "the trace covers the build command"
    runtime = {m for m in imported if m.startswith("corehost.")} - {
        "corehost.errors",
        "corehost.problems",
        "corehost.bundle",
    }
    steps = imported & {f"corehost_build.{m}" for m in ("pipeline", "probe", "guards", "zipapp", "freeze", "bytecode")}
    assert not runtime and not steps, f"an up-to-date rebuild imported {sorted(runtime | steps)}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_edited_plugin_is_rebuilt_from_the_last_lock(builder: Builder, tmp_path: Path, kind: str) -> None:
    flag, name = KINDS[kind]
    plugins, dest = plugins_copy(tmp_path), tmp_path / "out" / name
    first, _ = build(builder, "--plugins-dir", plugins, flag, dest)

    def installed() -> int:
        """The inode of an unchanged package's RECORD, which uv writes anew for each install (not from its cache)."""
        return next(dest.glob("lib/python3*/site-packages/click-*.dist-info/RECORD")).stat().st_ino

    before = installed() if kind == "venv" else 0
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"
    # An edit of each kind's own: a wheel of the same files would come from the session's cache, not be built.
    app.write_text(app.read_text(encoding="utf-8") + f"\nEDITED = 'rebuild test {kind}'\n", encoding="utf-8")
    second, stderr = build(builder, "--plugins-dir", plugins, flag, dest)
    assert second["up_to_date"] is False
    assert sorted(p.name for p in dest.parent.iterdir()) == [name], "nothing of the replaced build is left beside it"
    # The replaced build (the old venv, or the bundle's last seed) is deleted from the cache's trash by a
    # process of its own, after the build returned.
    trash, deadline = builder.cache / "trash", time.monotonic() + 30
    while any(p.name.startswith(f"{name}.tmp-") for p in trash.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert trash.is_dir() and not any(p.name.startswith(f"{name}.tmp-") for p in trash.iterdir())
    assert "resolve" not in second["steps"] and "lock" in second["steps"], second["steps"]
    assert "packages from the last lock, nothing resolved" in stderr
    assert {p["name"] for p in second["packages"]} == {p["name"] for p in first["packages"]}
    hashes = {p["name"]: p["hash"] for p in first["packages"]}
    moved = sorted(p["name"] for p in second["packages"] if hashes[p["name"]] != p["hash"])
    assert moved == ["corehost-greet"], "only the edited plugin's wheel changed"
    if kind == "venv":
        shipped = next(dest.glob("lib/python3*/site-packages/corehost_greet/app.py")).read_text(encoding="utf-8")
    else:
        with zipfile.ZipFile(dest) as zf, zipfile.ZipFile(zf.open("site.zip")) as site:
            shipped = site.read("corehost_greet/app.py").decode("utf-8")
    assert f"EDITED = 'rebuild test {kind}'" in shipped
    kept = len(first["packages"]) - 1
    assert f"{kept} of {kept + 1} packages kept from the last build {SEEDED}, the rest installed" in stderr, (
        "the staged venv was seeded while the edited plugin's wheel was built"
    )
    assert "runtime imported while installing" in stderr, "the guards' process started before the install ended"
    if kind == "venv":
        assert installed() == before, "an unchanged package is the last build's install, linked"
        fresh = tmp_path / "fresh"
        build(builder, "--plugins-dir", plugins, flag, fresh)
        assert tree(dest) == tree(fresh), "a venv linked from its seed holds what a fresh install does"


def test_two_edited_plugins_are_both_left_out_of_the_venv_seeded_while_the_wheels_are_built(
    builder: Builder, tmp_path: Path
) -> None:
    plugins, dest = plugins_copy(tmp_path), tmp_path / "venv"
    build(builder, "--plugins-dir", plugins, "--venv", dest)
    # Edits of this test's own: a wheel of the same files would come from the session's cache, not be built.
    for source in ("greet/src/corehost_greet/app.py", "greeter-en/src/corehost_greeter_en/__init__.py"):
        path = plugins / source
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited, both\n", encoding="utf-8")
    second, stderr = build(builder, "--plugins-dir", plugins, "--venv", dest)
    kept = len(second["packages"]) - 2
    assert f"{kept} of {kept + 2} packages kept from the last build {SEEDED}, the rest installed" in stderr
    assert "runtime imported while installing" in stderr
    fresh = tmp_path / "fresh"
    build(builder, "--plugins-dir", plugins, "--venv", fresh)
    assert tree(dest) == tree(fresh)


def test_a_project_rebuilt_into_the_same_wheel_is_linked_once_the_lock_says_so(
    builder: Builder, tmp_path: Path
) -> None:
    plugins, dest = plugins_copy(tmp_path), tmp_path / "venv"
    build(builder, "--plugins-dir", plugins, "--venv", dest)
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\n# edited, with greeter-en's notes\n", encoding="utf-8")
    # Outside greeter-en's wheel: left out while the wheels are built, it comes out the same, and is linked after.
    (plugins / "greeter-en" / "NOTES.txt").write_text("not shipped\n", encoding="utf-8")
    second, stderr = build(builder, "--plugins-dir", plugins, "--venv", dest)
    kept = len(second["packages"]) - 1
    assert f"{kept} of {kept + 1} packages kept from the last build {SEEDED}, the rest installed" in stderr
    fresh = tmp_path / "fresh"
    build(builder, "--plugins-dir", plugins, "--venv", fresh)
    assert tree(dest) == tree(fresh)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_rebuilt_wheel_that_is_the_same_leaves_nothing_beside_the_destination(
    builder: Builder, tmp_path: Path, kind: str
) -> None:
    flag, name = KINDS[kind]
    plugins, dest = plugins_copy(tmp_path), tmp_path / "out" / name
    build(builder, "--plugins-dir", plugins, flag, dest)
    before = state(dest)[1:]
    # Not in the wheel: the project's files changed, so its wheel is built again, into the same bytes.
    (plugins / "greet" / "NOTES.txt").write_text("not shipped\n", encoding="utf-8")
    again, _ = build(builder, "--plugins-dir", plugins, flag, dest)
    assert again["up_to_date"] is True
    assert state(dest)[1:] == before, "what was staged while the wheel was built is gone, the destination untouched"


def tree(venv: Path) -> dict[str, bytes]:
    """Every file of ``venv`` by relative path (symlinks by target), bytecode aside."""
    return {
        str(p.relative_to(venv)): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in venv.rglob("*")
        if "__pycache__" not in p.parts and (p.is_symlink() or p.is_file())
    }


def test_a_bundle_rebuilt_from_the_last_lock_equals_a_cold_build(builder: Builder, tmp_path: Path) -> None:
    plugins, dest = plugins_copy(tmp_path), tmp_path / "warm.pyz"
    first, _ = build(builder, "--plugins-dir", plugins, "--output", dest)
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"
    # The last registry, as the seed record keeps it, less one module: the bundle written ahead with it is not kept.
    record_path = seed_of(builder, dest, "pyz").with_suffix(".json")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["registry"]["modules"] = record["registry"]["modules"][:-1]
    record_path.write_text(json.dumps(record), encoding="utf-8")
    app.write_text(app.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    guessed, stderr = build(builder, "--plugins-dir", plugins, "--output", dest)
    assert AHEAD not in stderr and "guards passed inside it" in stderr and guessed["modules"] == first["modules"]
    cold_builder = Builder(builder.venv, tmp_path / "empty-cache")
    cold, _ = build(cold_builder, "--plugins-dir", plugins, "--output", tmp_path / "cold.pyz")
    assert "resolve" in cold["steps"] and cold["wheels_cached"] == 0
    assert dest.read_bytes() == (tmp_path / "cold.pyz").read_bytes()
    app.write_text(app.read_text(encoding="utf-8") + "\n# edited again\n", encoding="utf-8")
    warm, stderr = build(builder, "--plugins-dir", plugins, "--output", dest)
    assert "resolve" not in warm["steps"] and "packages kept from the last build" in stderr
    assert AHEAD in stderr, "the bundle was written and checked inside while the staged venv's guards ran"
    # Built into a destination of its own, with no last build to write ahead from.
    build(cold_builder, "--plugins-dir", plugins, "--output", tmp_path / "cold2.pyz")
    assert dest.read_bytes() == (tmp_path / "cold2.pyz").read_bytes()


def seed_of(builder: Builder, dest: Path, kind: str) -> Path:
    """Where the next rebuild of ``dest`` links unchanged packages from: the venv itself, or a bundle's kept venv."""
    if kind == "venv":
        return dest
    records = (builder.cache / "seeds").glob("*.json")
    return next(r for r in records if json.loads(r.read_text(encoding="utf-8"))["dest"] == str(dest)).with_suffix("")


def replace_file(path: Path, text: str) -> None:
    """A new file in place of ``path``: the old inode (shared with uv's cache) is left as it was."""
    path.unlink()
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_seed_changed_since_its_build_is_not_linked(builder: Builder, tmp_path: Path, kind: str) -> None:
    flag, name = KINDS[kind]
    plugins, dest = plugins_copy(tmp_path), tmp_path / "out" / name
    build(builder, "--plugins-dir", plugins, flag, dest)
    seed = seed_of(builder, dest, kind)
    replace_file(next(seed.glob("lib/python3*/site-packages/click/__init__.py")), "raise SystemExit('tampered')\n")
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    summary, stderr = build(builder, "--plugins-dir", plugins, flag, dest)
    assert "kept from the last build" not in stderr, "a changed seed is ignored: everything is installed"
    if kind == "venv":
        click = next(dest.glob("lib/python3*/site-packages/click/__init__.py")).read_text(encoding="utf-8")
    else:
        with zipfile.ZipFile(dest) as zf, zipfile.ZipFile(zf.open("site.zip")) as site:
            click = site.read("click/__init__.py").decode("utf-8")
    assert "tampered" not in click and summary["modules"]


def test_a_bundle_seed_with_a_damaged_record_or_another_interpreter_is_not_linked(
    builder: Builder, tmp_path: Path
) -> None:
    from corehost_build.rebuild import stamp

    plugins, dest = plugins_copy(tmp_path), tmp_path / "x.pyz"
    build(builder, "--plugins-dir", plugins, "--output", dest)
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"

    def rebuild_after_edit() -> str:
        app.write_text(app.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        return build(builder, "--plugins-dir", plugins, "--output", dest)[1]

    seed = seed_of(builder, dest, "pyz")
    seed.with_suffix(".json").write_text("{not json", encoding="utf-8")
    assert "kept from the last build" not in rebuild_after_edit()
    seed = seed_of(builder, dest, "pyz")
    record = json.loads(seed.with_suffix(".json").read_text(encoding="utf-8"))
    # Another interpreter's venv, recorded as it is now: its stamp matches, its pyvenv.cfg does not.
    replace_file(seed / "pyvenv.cfg", (seed / "pyvenv.cfg").read_text(encoding="utf-8") + "version_info = 3.99.0\n")
    seed.with_suffix(".json").write_text(json.dumps({**record, "stamp": stamp(seed)}), encoding="utf-8")
    assert "kept from the last build" not in rebuild_after_edit()
    assert "kept from the last build" in rebuild_after_edit(), "the seed a build keeps is used by the next"


def test_a_changed_flag_and_upgrade_resolve_again(builder: Builder, make_plugin: MakePlugin, tmp_path: Path) -> None:
    plugins, dest = plugins_copy(tmp_path), tmp_path / "venv"
    build(builder, "--plugins-dir", plugins, "--venv", dest)
    # A plugin no other test builds: its resolution key is new in this session's cache.
    extra = make_plugin("fxu-extra", code="from corehost import hookimpl\n", plugins={"fxu-extra": "fxu_extra"})
    more, _ = build(builder, "--plugins-dir", plugins, "--with", extra, "--venv", dest)
    assert "resolve" in more["steps"] and "fxu-extra" in {p["name"] for p in more["packages"]}
    for upgrade in (["--upgrade"], ["--upgrade-package", "click"]):
        again, _ = build(builder, "--plugins-dir", plugins, "--with", extra, "--venv", dest, *upgrade)
        assert again["up_to_date"] is False and "resolve" in again["steps"], upgrade


def test_a_requirement_without_pin_moves_only_on_upgrade(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    """A new release of an unpinned dependency is taken by --upgrade (and --upgrade-package), not by a rebuild."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    dep = {v: make_plugin("fxu-dep", version=v, dependencies=(), where=tmp_path / f"dep-{v}") for v in ("1.0", "2.0")}
    build_wheel(dep["1.0"], wheels)
    plugin = make_plugin(
        "fxu-plugin", code="from corehost import hookimpl\n", dependencies=("corehost>=0.1,<0.2", "fxu-dep"),
        plugins={"fxu": "fxu_plugin"},
    )  # fmt: skip
    args = ["--with", plugin, "--find-links", wheels, "--venv", tmp_path / "venv"]

    def dep_version(summary: dict[str, Any]) -> str:
        return str(next(p["version"] for p in summary["packages"] if p["name"] == "fxu-dep"))

    assert dep_version(build(builder, *args)[0]) == "1.0"
    build_wheel(dep["2.0"], wheels)
    kept, _ = build(builder, *args)
    assert kept["up_to_date"] is True and dep_version(kept) == "1.0", "the lock is followed"
    moved, _ = build(builder, *args, "--upgrade-package", "fxu-dep")
    assert dep_version(moved) == "2.0" and "resolve" in moved["steps"]
    assert build(builder, *args)[0]["up_to_date"] is True, "the upgraded lock is the one followed next"


def test_a_deleted_or_tampered_destination_is_rebuilt(builder: Builder, tmp_path: Path) -> None:
    plugins, pyz, venv = plugins_copy(tmp_path), tmp_path / "x.pyz", tmp_path / "venv"
    build(builder, "--plugins-dir", plugins, "--output", pyz)
    build(builder, "--plugins-dir", plugins, "--venv", venv)
    original = pyz.read_bytes()
    mtime = pyz.stat().st_mtime_ns
    pyz.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    os.utime(pyz, ns=(mtime, mtime))  # the same size and time: only the bytes tell
    rebuilt, _ = build(builder, "--plugins-dir", plugins, "--output", pyz)
    assert rebuilt["up_to_date"] is False and pyz.read_bytes() == original
    assert "resolve" not in rebuilt["steps"], "the lock is still followed"
    pyz.unlink()
    assert build(builder, "--plugins-dir", plugins, "--output", pyz)[0]["up_to_date"] is False
    assert pyz.read_bytes() == original

    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "sitecustomize.py").write_text("print('dropped in')\n", encoding="utf-8")
    assert build(builder, "--plugins-dir", plugins, "--venv", venv)[0]["up_to_date"] is False
    assert not (site / "sitecustomize.py").exists()
    shutil.rmtree(venv)
    assert build(builder, "--plugins-dir", plugins, "--venv", venv)[0]["up_to_date"] is False
    assert build(builder, "--plugins-dir", plugins, "--venv", venv)[0]["up_to_date"] is True


def test_an_edited_project_is_built_by_its_backend_into_the_same_wheel_as_uv_build(
    builder: Builder, tmp_path: Path
) -> None:
    """The kept build environment gives the wheel ``uv build`` gives, byte for byte (what a cold build makes)."""
    plugins = plugins_copy(tmp_path)
    app = plugins / "greet" / "src" / "corehost_greet" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\n# built by the backend\n", encoding="utf-8")
    summary, _ = build(builder, "--plugins-dir", plugins, "--venv", tmp_path / "venv")
    assert summary["wheels_cached"] < 3, "the edited project was built, not taken from the cache"
    assert any((builder.cache / "build-envs").glob("*/bin/python")), "a build environment is kept"
    locked = next(p for p in summary["packages"] if p["name"] == "corehost-greet")
    by_uv = build_wheel(plugins / "greet", tmp_path / "uv-build")
    assert locked["hash"] == "sha256:" + hashlib.sha256(by_uv.read_bytes()).hexdigest()


def test_a_rebuild_from_the_same_lock_file_is_up_to_date(
    builder: Builder, greeter_bundle: Bundle, tmp_path: Path
) -> None:
    lock, dest = shutil.copy(greeter_bundle.lock, tmp_path / "pylock.toml"), tmp_path / "venv"
    assert build(builder, "--from-lock", lock, "--venv", dest)[0]["up_to_date"] is False
    assert build(builder, "--from-lock", lock, "--venv", dest)[0]["up_to_date"] is True
    with open(lock, "a", encoding="utf-8") as f:
        f.write("# another lock, by its text\n")
    assert build(builder, "--from-lock", lock, "--venv", dest)[0]["up_to_date"] is False


def test_linking_takes_a_distribution_s_recorded_files_and_bytecode_only(tmp_path: Path) -> None:
    from corehost_build.venv import link_installed

    seed, venv = tmp_path / "seed", tmp_path / "venv"
    site = seed / "lib" / "python3.11" / "site-packages"
    files = {
        "a/__init__.py": "A = 1\n",
        "a/__pycache__/__init__.cpython-311.pyc": "bytecode",
        "a-1.0.dist-info/RECORD": "a/__init__.py,sha256=x,6\na-1.0.dist-info/RECORD,,\n../../../bin/a,sha256=y,3\n",
        "b/__init__.py": "B = 1\n",
        "b-2.0.dist-info/RECORD": "b/__init__.py,sha256=z,6\nb-2.0.dist-info/RECORD,,\n",
        "_corehost_frozen.py": "FROZEN = 1\n",
        "../../../bin/a": "run",
    }
    for rel, text in files.items():
        path = Path(os.path.normpath(site / rel))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    assert link_installed(seed, venv, lambda name, version: (name, version) == ("a", "1")) == {"a"}
    made = sorted(str(p.relative_to(venv)) for p in venv.rglob("*") if p.is_file())
    prefix = "lib/python3.11/site-packages/"
    assert made == [
        "bin/a",
        *(prefix + p for p in ("a-1.0.dist-info/RECORD", "a/__init__.py", "a/__pycache__/__init__.cpython-311.pyc")),
    ]
    assert (venv / prefix / "a" / "__init__.py").stat().st_ino == (site / "a" / "__init__.py").stat().st_ino
    (tmp_path / "via").symlink_to(seed)
    (tmp_path / "venv2" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    assert link_installed(tmp_path / "via", tmp_path / "venv2", lambda name, version: name == "a") == {"a"}, (
        "a seed reached through a symlink is linked like any other"
    )

    # A RECORD naming a path outside the environment is not followed.
    (site / "b-2.0.dist-info" / "RECORD").write_text("../../../../outside,,\n", encoding="utf-8")
    (tmp_path / "outside").write_text("not the venv's", encoding="utf-8")
    with pytest.raises(OSError, match="outside the environment"):
        link_installed(seed, tmp_path / "venv", lambda name, version: name == "b")


def test_the_trash_is_swept_at_the_lowest_priority(tmp_path: Path) -> None:
    from corehost_build.rebuild import SWEEP

    (tmp_path / "trash" / "build.tmp-1" / "venv").mkdir(parents=True)
    swept = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SWEEP + "print(os.nice(0))", str(tmp_path / "trash")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert swept.stdout.strip() == "19" and not any((tmp_path / "trash").iterdir())


def test_a_bundle_of_another_layout_is_never_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint of a ``.pyz`` names the bundle layout: a builder that writes another one rebuilds it."""
    from types import SimpleNamespace

    from corehost_build import build, bundleformat

    request = SimpleNamespace(inputs=["--with ./plugins/greet"], allow_plain=(), compile_bytecode=False)
    target = SimpleNamespace(interpreter_version="3.11.7", python_version="3.11", platform=None)

    def fingerprint_of(single_file: bool) -> str:
        output = SimpleNamespace(flag="--output" if single_file else "--venv", dest="dist/x", single_file=single_file)
        return build._fingerprint(request, output, target, sys.executable, "lock")  # type: ignore[arg-type]

    pyz, venv = fingerprint_of(True), fingerprint_of(False)
    monkeypatch.setattr(bundleformat, "FORMAT", bundleformat.FORMAT + 1)
    assert fingerprint_of(True) != pyz and fingerprint_of(False) == venv
