"""outputs: the seam between the build pipeline and what it emits (no build: the choices each output makes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from corehost_build.atomic import Staging
from corehost_build.errors import SpecError
from corehost_build.hosts import BuildHost
from corehost_build.outputs import BundleOutput, Output, Staged, VenvOutput, output_of
from corehost_build.request import BuildRequest
from corehost_build.target import Target


def _staged(tmp_path: Path, *, cross: bool) -> Staged:
    target = Target(None, "aarch64-apple-darwin" if cross else None, "cpython-3.11", "linux-x86_64", cross)
    staging = Staging(tmp_path / "out.pyz", file=True)
    (staging.venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    host = BuildHost("corehost", "corehost.hostspec:COREHOST")
    return Staged(staging, target, host, {}, {}, 120.0)


def test_each_destination_flag_chooses_its_output(tmp_path: Path) -> None:
    venv = output_of(BuildRequest(venv=tmp_path / "v"))
    bundle = output_of(BuildRequest(output=tmp_path / "b.pyz"))
    assert isinstance(venv, VenvOutput) and (venv.flag, venv.dest, venv.single_file) == (
        "--venv",
        tmp_path / "v",
        False,
    )
    assert isinstance(bundle, BundleOutput) and (bundle.flag, bundle.single_file) == ("--output", True)


@pytest.mark.parametrize("request_", [BuildRequest(), BuildRequest(venv=Path("v"), output=Path("b.pyz"))])
def test_a_build_emits_exactly_one_artifact(request_: BuildRequest) -> None:
    with pytest.raises(SpecError, match="a build emits one artifact: give either --venv DIR"):
        output_of(request_)


def test_only_a_venv_gets_pip_and_refuses_a_foreign_target(tmp_path: Path) -> None:
    venv: Output = VenvOutput(tmp_path)
    bundle: Output = BundleOutput(tmp_path / "b.pyz")
    assert venv.requirements(BuildRequest()) == ["pip"]
    assert venv.requirements(BuildRequest(pip=False)) == []
    assert bundle.requirements(BuildRequest()) == []
    foreign = BuildRequest(python_version="3.12", platform="aarch64-apple-darwin")
    bundle.check(foreign)
    with pytest.raises(SpecError, match="--python-version and --platform are for bundles"):
        venv.check(foreign)


def test_a_bundle_for_another_platform_carries_that_platform_s_install(tmp_path: Path) -> None:
    staged = _staged(tmp_path / "cross", cross=True)
    native = _staged(tmp_path / "native", cross=False)
    try:
        assert BundleOutput(tmp_path / "b.pyz").site(staged) == staged.staging.root / "site"
        assert BundleOutput(tmp_path / "b.pyz").site(native) == native.staging.venv / "lib/python3.11/site-packages"
        assert VenvOutput(tmp_path).site(staged) == staged.staging.venv / "lib/python3.11/site-packages"
    finally:
        staged.staging.discard()
        native.staging.discard()
