"""Bytecode for a bundle: compiled once, by the target interpreter, the same way every time.

``marshal`` output depends on more than the code: an object referenced from
elsewhere in the compiling process is written with a back-reference flag, so
compiling in the builder (which has click and the runtime imported) gives
other bytes than compiling in a fresh interpreter. Compiling always happens
in a fresh, isolated interpreter of the target (``-I -S``: nothing but the
compiler loaded), which keeps a bundle byte-identical however its build was
cached, and gives the target's own magic number.

Results are kept in the builder's cache by a hash of the interpreter's
version, the file's name in the bundle and its source; a warm build reads
them instead of compiling.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from corehost_build.atomic import write_atomic
from corehost_build.errors import BuildError
from corehost_build.tools import tool_env

#: Reads ``[[name, source_path, out_path], ...]`` from stdin; writes each compiled module to ``out_path.pyc``
#: (or an empty ``out_path.err`` for a source that does not compile). The outputs are in a private temporary
#: folder; the builder moves them into its cache (:func:`corehost_build.atomic.write_atomic`).
WORKER = """
import importlib.util, json, marshal, sys
flags = (1).to_bytes(4, "little")
for name, path, out in json.load(sys.stdin):
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        data, suffix = b"", ".err"
    else:
        data = importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)
        suffix = ".pyc"
        del code
    with open(out + suffix, "wb") as f:
        f.write(data)
"""


def compile_all(python: Path, interpreter: str, sources: dict[str, bytes], cache: Path) -> dict[str, bytes]:
    """Unchecked hash-based ``.pyc`` bytes (PEP 552) by name; sources that do not compile are left out."""
    keys = {
        name: hashlib.sha256(f"{interpreter}\0{name}\0".encode() + src).hexdigest() for name, src in sources.items()
    }

    def cached(name: str) -> Path:
        return cache / keys[name][:2] / keys[name]

    missing = [n for n in sorted(sources) if not cached(n).with_suffix(".pyc").exists()
               and not cached(n).with_suffix(".err").exists()]  # fmt: skip
    if missing:
        with tempfile.TemporaryDirectory(prefix="corehost-build-pyc-") as tmp:
            jobs = []
            for i, name in enumerate(missing):
                path = Path(tmp) / f"{i}.py"
                path.write_bytes(sources[name])
                jobs.append([name, str(path), str(Path(tmp) / f"{i}")])
            result = subprocess.run(
                [str(python), "-I", "-S", "-c", WORKER],
                input=json.dumps(jobs),
                capture_output=True,
                text=True,
                env=tool_env(),
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                raise BuildError(
                    f"compiling the bundle's modules with {python} failed: {result.stderr.strip()[-500:]}. "
                    "Check that the interpreter runs, or build with --python pointing at a working one."
                )
            for i, name in enumerate(missing):
                for suffix in (".pyc", ".err"):
                    made = Path(tmp) / f"{i}{suffix}"
                    if made.exists():
                        write_atomic(made.read_bytes(), cached(name).with_suffix(suffix))
    out = {}
    for name in sources:
        pyc = cached(name).with_suffix(".pyc")
        if pyc.exists():
            out[name] = pyc.read_bytes()
    return out
