"""target: the platform a bundle is for, and the interpreters its manifest says it starts on (no build)."""

from __future__ import annotations

from corehost_build.target import platform_tag, reach

from corehost.bundle import platform_tag as running_platform

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Python: {rp}\n\nA description: 1\n"


def test_no_platform_is_the_running_machine_as_the_runtime_names_it() -> None:
    assert platform_tag(None) == running_platform()


def test_uv_platform_names_become_the_runtime_s_tags() -> None:
    assert platform_tag("x86_64-manylinux_2_28") == "linux-x86_64"
    assert platform_tag("aarch64-unknown-linux-musl") == "linux-aarch64"
    assert platform_tag("aarch64-apple-darwin") == "darwin-arm64"
    assert platform_tag("x86_64-pc-windows-msvc") == "win32-x86_64"
    assert platform_tag("riscv64-plan9") == "unknown-any"


def _reach(requires: dict[str, str], extensions: tuple[str, ...] = ()) -> dict[str, object]:
    texts = {f"{n}-1.0.dist-info/METADATA": METADATA.format(name=n, rp=rp) for n, rp in requires.items()}
    files = [*texts, "pkg/__init__.py", "pkg/sub/METADATA", *extensions]
    return reach(files, texts.__getitem__, "cpython-3.11", extensions)


def test_reach_is_what_every_package_admits_naming_who_decides() -> None:
    out = _reach({"corehost": ">=3.11", "plugin": ">=3.8"})
    assert out == {
        "requires_python": {"spans": [[[3, 11, 0], None]], "text": ">=3.11", "why": "the Requires-Python of corehost"}
    }


def test_reach_of_packages_that_together_narrow_the_range() -> None:
    out = _reach({"a": ">=3.10", "b": "<3.13"})
    assert out["requires_python"] == {
        "spans": [[[3, 10, 0], [3, 13, 0]]],
        "text": ">=3.10, <3.13",
        "why": "its packages' Requires-Python, together",
    }


def test_compiled_code_narrows_reach_to_the_version_it_was_built_for() -> None:
    out = _reach({"corehost": ">=3.11"}, ("fast/_speed.cpython-311-x86_64-linux-gnu.so", "fast.libs/libz.so.1"))
    assert out["compiled_for"] == {
        "spans": [[[3, 11, 0], [3, 12, 0]]],
        "text": "3.11",
        "why": "fast/_speed.cpython-311-x86_64-linux-gnu.so",
    }


def test_stable_abi_code_reaches_every_later_version() -> None:
    out = _reach({"corehost": ">=3.11"}, ("fast/_speed.abi3.so",))
    assert out["compiled_for"]["text"] == ">=3.11"  # type: ignore[index]
