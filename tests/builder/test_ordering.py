"""A build resolves each ordered namespace's chain order, records it, shows it, and fails on a bad one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.builder.conftest import Builder
from tests.conftest import Venv, clean_env

FIXTURES = "./tests/fixtures/plugins"
BASE = ("--with", f"{FIXTURES}/fixture-order-base")


def test_a_build_records_the_order_and_lists_and_shows_it_without_importing_a_module(
    builder: Builder, tmp_path: Path
) -> None:
    dest = tmp_path / "venv"
    builder.ok("build", *BASE, "--with", f"{FIXTURES}/fixture-order-extra", "--venv", dest, "--quiet")
    venv = Venv(dest)
    recorded = venv.run("python", "-c", "import _corehost_frozen as f; print(f.REGISTRY['order'])")
    assert recorded.stdout.strip() == (
        "{'chain.steps': ['chain.steps.early', 'chain.steps.mid', 'chain.steps.omega', 'chain.steps.alpha']}"
    ), recorded.stderr
    # A module that would import can't be the reason for the order: the frozen registry is read alone.
    probe = (
        "import sys; from corehost.cli import main; main(['list-modules', '--namespace', 'chain.steps']); "
        "print(sorted(m for m in sys.modules if m.startswith('fixture_order')))"
    )
    listed = venv.run("python", "-c", probe)
    assert listed.stdout.splitlines() == [
        "chain.steps.early", "chain.steps.mid", "chain.steps.omega", "chain.steps.alpha", "[]",
    ], listed.stderr  # fmt: skip
    info = venv.corehost("build-info")
    assert "order of chain.steps: early, mid, omega, alpha" in info.stdout.splitlines(), info.stdout
    as_json = json.loads(venv.corehost("build-info", "--json").stdout)
    assert as_json["order"] == {
        "chain.steps": ["chain.steps.early", "chain.steps.mid", "chain.steps.omega", "chain.steps.alpha"]
    }


def test_a_bundle_lists_in_its_recorded_order_and_a_block_list_only_drops_modules_from_it(
    builder: Builder, tmp_path: Path
) -> None:
    pyz = tmp_path / "steps.pyz"
    builder.ok("build", *BASE, "--with", f"{FIXTURES}/fixture-order-extra", "--output", pyz, "--quiet")

    def listed(**env: str) -> list[str]:
        result = subprocess.run([sys.executable, str(pyz), "list-modules", "--namespace", "chain.steps"],
                                capture_output=True, text=True, env=clean_env(env), timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert listed() == ["chain.steps.early", "chain.steps.mid", "chain.steps.omega", "chain.steps.alpha"]
    left_out = listed(COREHOST_DISABLE_PLUGINS="fixture-order-extra")
    assert left_out == ["chain.steps.mid", "chain.steps.omega", "chain.steps.alpha"]


def test_a_cycle_fails_the_build_naming_its_modules(builder: Builder, tmp_path: Path) -> None:
    result = builder.build(*BASE, "--with", f"{FIXTURES}/fixture-order-cycle", "--venv", tmp_path / "venv")
    assert result.returncode == 1
    assert (
        "- module 'chain.steps.alpha' (distribution fixture-order-base): the modules of ordered namespace "
        "'chain.steps' declare a cycle: chain.steps.alpha (distribution fixture-order-base) before "
        "chain.steps.loop (distribution fixture-order-cycle) before chain.steps.omega (distribution "
        "fixture-order-base) before chain.steps.alpha. The declarations that make it: loop's corehost_after "
        "names 'alpha'; loop's corehost_before names 'omega'; alpha's corehost_after names 'omega'."
    ) in " ".join(result.stderr.split())
    assert not (tmp_path / "venv").exists()


def test_a_reference_to_a_module_not_in_the_build_fails_it_naming_both(builder: Builder, tmp_path: Path) -> None:
    result = builder.build(*BASE, "--with", f"{FIXTURES}/fixture-order-missing", "--venv", tmp_path / "venv")
    assert result.returncode == 1
    assert (
        "- module 'chain.steps.lost' (distribution fixture-order-missing): declares corehost_after = ('nowhere',), "
        "but ordered namespace "
        "'chain.steps' has no module 'nowhere' here (its modules: alpha, lost, mid, omega). Add the plugin that "
        "provides 'chain.steps.nowhere', or drop 'nowhere' from corehost_after."
    ) in " ".join(result.stderr.split())
    assert not (tmp_path / "venv").exists()
