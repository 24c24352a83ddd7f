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
them instead of compiling. What is missed is compiled by one worker per
interpreter, started at the first miss and kept for the builder's run: a
bundle's build asks twice (its files, then its ``__main__``, which names
the bundle's id), and a second interpreter start would cost more than the
compiling. Each module's code is deleted before the next is compiled, so
what one batch compiled leaves nothing another one's bytes depend on.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import selectors
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from corehost_build.atomic import write_atomic
from corehost_build.errors import BuildError
from corehost_build.tools import tool_env

#: Reads one line of ``[[name, source_path, out_path], ...]`` per batch from stdin; writes each compiled module
#: to ``out_path.pyc`` (or an empty ``out_path.err`` for a source that does not compile), then answers the line
#: ``done``. The outputs are in a private temporary folder; the builder moves them into its cache
#: (:func:`corehost_build.atomic.write_atomic`).
WORKER = """
import importlib.util, json, marshal, sys
flags = (1).to_bytes(4, "little")
for line in sys.stdin:
    for name, path, out in json.loads(line):
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
    print("done", flush=True)
"""

#: Seconds one batch may take before the worker is taken for hung.
TIMEOUT = 600


class _Worker:
    """The :data:`WORKER` running in one interpreter, for every batch of this builder run."""

    def __init__(self, python: Path) -> None:
        self.python = python
        # stderr to a file: a compiler's warnings can outgrow a pipe nobody reads until the end.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(python), "-I", "-S", "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=tool_env(),
        )

    def run(self, jobs: list[list[str]]) -> None:
        """Compile ``jobs``; a worker that dies or hangs is a :class:`BuildError` naming the interpreter."""
        assert self.process.stdin is not None and self.process.stdout is not None
        answer, hung = "", False
        try:
            self.process.stdin.write(json.dumps(jobs) + "\n")
            self.process.stdin.flush()
            with selectors.DefaultSelector() as ready:
                ready.register(self.process.stdout, selectors.EVENT_READ)
                hung = not ready.select(TIMEOUT)
                if not hung:
                    answer = self.process.stdout.readline()
        except BrokenPipeError:
            pass
        if answer.strip() != "done":
            try:
                code = self.process.wait(timeout=0 if hung else 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
            self.stderr.seek(0)
            why = self.stderr.read().decode("utf-8", "replace").strip()[-500:] or (
                f"no answer within {TIMEOUT} s" if hung else f"it exited {code} without an answer"
            )
            self.close()
            raise BuildError(
                f"compiling the bundle's modules with {self.python} failed: {why}. "
                "Check that the interpreter runs, or build with --python pointing at a working one."
            )

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        _workers.pop(str(self.python), None)


_workers: dict[str, _Worker] = {}


def _worker(python: Path) -> _Worker:
    found = _workers.get(str(python))
    if found is None or found.process.poll() is not None:
        found = _workers[str(python)] = _Worker(python)
    return found


@atexit.register
def _close_workers() -> None:
    for worker in list(_workers.values()):
        worker.close()


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
            _worker(python).run(jobs)
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
