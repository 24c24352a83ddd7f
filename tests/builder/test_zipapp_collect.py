"""zipapp.collect: which files of a staged site-packages go into a bundle, and why the rest stays out (no build)."""

from __future__ import annotations

from pathlib import Path

from corehost_build.zipapp import WHY_PTH, WHY_SCRIPTS, collect

SITE = [
    "greet/__init__.py",
    "greet/__pycache__/__init__.cpython-311.pyc",
    "greet/tests/test_greet.py",
    "greet/testing/__init__.py",
    "greet/data/names.txt",
    "greet/_speed.cpython-311-x86_64-linux-gnu.so",
    "compiled_only.pyc",
    "mod.py",
    "mod.pyc",
    "corehost_greet-0.1.0.dist-info/METADATA",
    "corehost_greet-0.1.0.dist-info/entry_points.txt",
    "corehost_greet-0.1.0.dist-info/RECORD",
    "corehost_greet-0.1.0.dist-info/INSTALLER",
    "corehost_greet-0.1.0.dist-info/direct_url.json",
    "corehost_greet-0.1.0.dist-info/WHEEL",
    "bin/greet",
    "editable.pth",
]


def test_every_importable_file_ships_and_what_stays_out_says_why(tmp_path: Path) -> None:
    for name in SITE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    files, left_out = collect(tmp_path)
    assert sorted(files) == [
        "compiled_only.pyc",
        "corehost_greet-0.1.0.dist-info/METADATA",
        "corehost_greet-0.1.0.dist-info/entry_points.txt",
        "greet/__init__.py",
        "greet/_speed.cpython-311-x86_64-linux-gnu.so",
        "greet/data/names.txt",
        "greet/testing/__init__.py",
        "greet/tests/test_greet.py",
        "mod.py",
    ]
    assert files["mod.py"] == tmp_path / "mod.py"
    assert left_out == {"bin/": WHY_SCRIPTS, "editable.pth": WHY_PTH}
