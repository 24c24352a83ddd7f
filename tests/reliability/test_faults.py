"""Faults around a build: two builds of one destination, a read-only folder, a full disk.

In each, the user gets one clear paragraph and a non-zero exit, and the
destination is either exactly the old one or exactly the new one. The
read-only and full disks are real: a tmpfs mounted read-only, or filled to
the brim (mounting needs root; without it the read-only case uses folder
permissions and the full disk becomes a file-size limit, ``ulimit -f``, in
the builder's process, which fails writes with EFBIG instead of ENOSPC).
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path

import pytest

from tests.builder.conftest import Builder
from tests.conftest import ROOT, Wheelhouse, build_wheel, clean_env
from tests.reliability.conftest import tree, wheels

GREET = ("corehost-greet", "corehost-greeter-en")
SLOW_CODE = "import time\n\ntime.sleep(4)\n"


@pytest.fixture(scope="module")
def slow_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugin whose import takes 4 s: it keeps the first build inside its guards while the second starts."""
    root = tmp_path_factory.mktemp("slow")
    project = root / "fxr-slow"
    (project / "src" / "fxr_slow").mkdir(parents=True)
    (project / "src" / "fxr_slow" / "__init__.py").write_text(SLOW_CODE)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "fxr-slow"\nversion = "1.0"\ndependencies = ["corehost>=0.1,<0.2"]\n'
        '[project.entry-points."corehost.plugins"]\nslow = "fxr_slow"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/fxr_slow"]\n'
    )
    return build_wheel(project, root)


def popen(builder: Builder, *args: str | Path) -> subprocess.Popen[str]:
    env = clean_env({"COREHOST_BUILD_CACHE": str(builder.cache)})
    argv = [str(builder.venv.bin("corehost-build")), "build", *map(str, args)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_two_builds_of_one_destination_one_wins_whole_the_other_fails_clearly(
    builder: Builder, wheelhouse: Wheelhouse, slow_wheel: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "venv"
    first = popen(builder, *wheels(wheelhouse, *GREET), "--with", slow_wheel, "--no-pip", "--venv", dest)
    lock = tmp_path / ".venv.corehost-build.lock"
    deadline = time.monotonic() + 60
    while not lock.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    second = popen(builder, *wheels(wheelhouse, "corehost-greet"), "--no-pip", "--venv", dest)
    _, err2 = second.communicate(timeout=120)
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 1
    assert err2 == (
        f"corehost-build: error: another corehost-build (process {first.pid}) is writing --venv {dest} right now, "
        "so this build stopped before touching it. Wait for that build to finish (or give this one another "
        "destination).\n"
    )
    # The destination is the winner's build, whole: it verifies against its record and holds the slow plugin.
    assert builder.ok("verify", dest).stdout.startswith(f"{dest}: OK")
    assert "fxr-slow" in builder.venv.run(dest / "bin" / "corehost", "build-info", check=True).stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["venv"]


def readonly(folder: Path, tmpfs: Path | None) -> None:
    if tmpfs is not None:
        subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    else:
        folder.chmod(0o555)


@pytest.mark.parametrize("flag", ["--venv", "--output"])
def test_read_only_destination_is_a_clear_error_and_the_old_one_stays(
    builder: Builder, wheelhouse: Wheelhouse, tmpfs: Path | None, tmp_path: Path, flag: str
) -> None:
    folder = tmpfs or tmp_path / "ro"
    folder.mkdir(exist_ok=True)
    dest = folder / ("venv" if flag == "--venv" else "corehost.pyz")
    builder.ok("build", *wheels(wheelhouse, "corehost-greet"), "--no-pip", flag, dest, "--quiet")
    before = tree(folder)
    readonly(folder, tmpfs)
    result = builder.build(*wheels(wheelhouse, *GREET), "--no-pip", flag, dest)
    assert result.returncode == 1
    why = "its folder is on a read-only filesystem (Read-only file system" if tmpfs else "this user may not write"
    assert result.stderr.startswith(f"corehost-build: error: cannot build {flag} {dest}: {why}"), result.stderr
    assert result.stderr.endswith(
        "Nothing was changed there and an existing destination is intact; build somewhere writable, or free space "
        "and retry.\n"
    )
    assert tree(folder) == before


def fill(folder: Path, leave: int) -> None:
    """Write one file until only ``leave`` bytes are free on ``folder``'s filesystem."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("flag", ["--venv", "--output"])
def test_full_disk_during_a_build_is_a_clear_error_and_the_old_one_stays(
    builder: Builder, wheelhouse: Wheelhouse, tmpfs: Path | None, tmp_path: Path, flag: str
) -> None:
    folder = tmpfs or tmp_path / "disk"
    folder.mkdir(exist_ok=True)
    dest = folder / ("venv" if flag == "--venv" else "corehost.pyz")
    builder.ok("build", *wheels(wheelhouse, "corehost-greet"), "--no-pip", flag, dest, "--quiet")
    if tmpfs is not None:
        fill(folder, leave=1_000_000)
        limit = None
    else:
        limit = 100_000  # bytes: smaller than the files a build writes
    before = tree(folder)
    env = clean_env({"COREHOST_BUILD_CACHE": str(builder.cache)})
    result = subprocess.run(
        [str(builder.venv.bin("corehost-build")), "build", *wheels(wheelhouse, *GREET), "--with",
         str(wheelhouse.wheel("corehost-polyglot")), flag, str(dest)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
        preexec_fn=None if limit is None else lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("corehost-build: error:")]
    assert (
        "ran out of space while installing into the staging folder beside it; the staging folder was removed and "
        "an existing destination is intact"
        in error
        or f"cannot build {flag} {dest}: the disk it is on is full" in error
        or "a file grew beyond the size limit" in error
    ), result.stderr
    assert tree(folder) == before
