"""``corehost-build new-plugin``: a complete plugin project that passes its guards as written.

The namespace's interface is read in an environment that has the namespace's
owner installed (the runtime's ``python -m corehost.probe interface``), and
the module class is generated from it: every method with the interface's
signature, so the interface guards pass before the author writes a line.
The project pins its compatibility the packaging way (a range on corehost
and on the namespace's owner), carries a test that uses corehost's pytest
fixtures, and is written to a temporary folder that is renamed into place.
Its README's commands work from any folder: corehost and the namespace's
owner come from a wheelhouse (``corehost-build wheels``), since neither is on
a public index.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import textwrap
from pathlib import Path
from typing import Any

from packaging.version import Version

from corehost.ids import join
from corehost_build.atomic import atomic_dir
from corehost_build.errors import BuildError, ProbeError, SpecError
from corehost_build.probe import ask

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


def describe(python: Path, namespace: str) -> dict[str, Any]:
    """What ``python``'s environment knows about ``namespace``: owner, versions, interface."""
    try:
        return ask(python, "interface", namespace, where="environment of new-plugin")
    except ProbeError as exc:
        raise SpecError(
            f"cannot read namespace {namespace!r}: {exc.message} Pass the plugin that owns it with --with "
            "(e.g. --with ./plugins/greet)."
        ) from None


def _range(version: str) -> str:
    """``>=0.1,<0.2`` for 0.1.x: a plugin promises the minor series it was written against."""
    v = Version(version)
    upper = f"{v.major + 1}" if v.major >= 1 else f"0.{v.minor + 1}"
    return f">={v.major}.{v.minor},<{upper}"


def _class_name(module: str) -> str:
    return "".join(part.capitalize() for part in module.split("_")) or "Module"


def _method(method: dict[str, Any]) -> str:
    doc = method["doc"] or f"Implement {method['name']} for this module."
    first = doc.splitlines()[0]
    body = f'"""{first}"""\n'
    body += f"raise NotImplementedError({json.dumps(method['name'])})\n"
    return f"{method['signature']}:\n" + textwrap.indent(body, "    ")


def _shell_word(path: Path) -> str:
    """``path`` as one word for sh, quoted only when it must be."""
    return shlex.quote(str(path))


def render(
    name: str, namespace: str, module: str, info: dict[str, Any], wheelhouse: Path | None = None
) -> dict[str, str]:
    """Every file of the new project, by relative path.

    ``wheelhouse`` (new-plugin's first --find-links) fills the README's
    WHEELHOUSE, so its commands run as written; without one the README
    says how to make it.
    """
    package = name.replace("-", "_")
    module_id = join(namespace, module)
    cls = _class_name(module)
    required = [m for m in info["methods"] if m["required"]]
    imports = "".join(
        f"from {mod} import {n}\n" for n, mod in sorted(info["imports"].items(), key=lambda kv: (kv[1], kv[0]))
    )
    methods = "\n".join(textwrap.indent(_method(m), "    ") for m in required) or "    pass\n"
    deps = [f"corehost{_range(info['corehost'])}"]
    if info["distribution"] != "corehost":
        deps.append(f"{info['distribution']}{_range(info['version'])}")
    code = (
        f'"""``{module_id}``: a module of namespace ``{namespace or "(apps)"}`` ({info["interface"]})."""\n\n'
        "from __future__ import annotations\n\n" + (imports + "\n" if imports else "") + f"\nclass {cls}:\n"
        f'    """{info["doc"].splitlines()[0] if info["doc"] else "A module."}\n\n'
        "    Config fields are annotated class attributes (or dataclass fields);\n"
        "    unknown fields in a config are errors that name this module.\n"
        '    """\n\n' + methods
    )
    pyproject = textwrap.dedent(
        f"""\
        [build-system]
        requires = ["hatchling>=1.18"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "0.1.0"
        description = "corehost plugin: module {module_id}"
        requires-python = ">=3.11"
        dependencies = {json.dumps(deps)}

        [project.optional-dependencies]
        test = ["pytest>=8"]

        [project.entry-points."corehost.modules"]
        "{module_id}" = "{package}:{cls}"

        [tool.hatch.build.targets.wheel]
        packages = ["src/{package}"]
        """
    )
    test = textwrap.dedent(
        f'''\
        """Tests of {module_id}; corehost's pytest fixtures come with corehost."""

        from __future__ import annotations

        from collections.abc import Callable
        from typing import Any

        DISTRIBUTION = "{name}"
        MODULE = "{module_id}"


        def test_satisfies_its_interface(corehost_problems: Callable[[str], list[Any]]) -> None:
            assert [str(p) for p in corehost_problems(DISTRIBUTION)] == []


        def test_builds_from_an_empty_config(corehost_module: Callable[..., Any]) -> None:
            assert corehost_module(MODULE) is not None
        '''
    )
    owners = " and ".join(dict.fromkeys(["corehost", info["distribution"]]))
    readme = textwrap.dedent(
        f"""\
        # {name}

        A corehost plugin: module `{module_id}`, implementing namespace `{namespace}`
        ({info["interface"]}, from {info["distribution"]}).

        {owners} are not on a public index, so pip and corehost-build take them from a
        wheelhouse: a folder of their wheels, made in a clone of corehost with
        `corehost-build wheels ./plugins/* -o wheelhouse/` (it adds corehost itself).
        Every other package comes from the index. These commands work from this
        folder, wherever it is:

        ```sh
        export WHEELHOUSE={_shell_word(wheelhouse) if wheelhouse else "/path/to/wheelhouse"}
        python3 -m venv .venv && .venv/bin/pip install -q --find-links "$WHEELHOUSE" -e '.[test]'
        .venv/bin/python -m pytest -q    # the interface guards and a lifecycle test
        corehost-build build --with . --find-links "$WHEELHOUSE" --output dist/bundle.pyz --quiet
        python3 dist/bundle.pyz list-modules --versions
        ```

        Write the methods in `src/{package}/__init__.py`; `.venv/bin/corehost check` shows
        what the namespace's interface still expects.
        """
    )
    return {
        "pyproject.toml": pyproject,
        "README.md": readme,
        f"src/{package}/__init__.py": code,
        f"src/{package}/py.typed": "",
        f"tests/test_{package}.py": test,
    }


def new_plugin(
    name: str, namespace: str, module: str | None, dest: Path, info: dict[str, Any], wheelhouse: Path | None = None
) -> Path:
    """Write the project for plugin ``name`` at ``dest`` (which must not exist yet)."""
    if not _NAME.fullmatch(name):
        raise SpecError(
            f"plugin name {name!r} is not a distribution name this tool will write; use lowercase letters, digits "
            "and single '-' or '_' between them (e.g. greeter-pirate)."
        )
    module = module or name.replace("-", "_").split("_")[-1]
    if not re.fullmatch(r"[a-z0-9_]+", module):
        raise SpecError(f"module name {module!r} must be lowercase letters, digits and '_' (--module).")
    dest = Path(os.path.abspath(dest))
    if dest.exists():
        raise BuildError(f"{dest} already exists; choose another NAME or --dir, or remove it.")
    try:
        with atomic_dir(dest) as tmp:
            for rel, text in render(name, namespace, module, info, wheelhouse).items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    except FileExistsError:
        raise BuildError(f"{dest} already exists; choose another NAME or --dir, or remove it.") from None
    return dest
