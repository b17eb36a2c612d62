"""Build hook: the core's hot modules compiled with mypyc, pure Python when that cannot be done.

The processing core is mypy-strict, so mypyc turns its per-event code into C
without a second source (issue 9: ~1.4x on the whole core, measured by
``python -m bench core``). Everything else about the package is declared in
``pyproject.toml``.

- ``pip install .`` / ``pip wheel .`` compile when a C compiler and the
  Python headers are present (Debian: ``gcc python3-dev``); when compiling
  fails the build says so in one warning and installs the same modules as
  pure Python, which pass the same tests.
- ``CWLPIPE_PURE_PYTHON=1`` skips compiling. The development install
  (``make``) sets it: an editable install would otherwise leave ``.so`` files
  beside the sources, and they would shadow every later edit of them.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The modules every event goes through; compiled together so calls between them stay native.
# The rest of the core (config parsing, pattern compilation) runs once at start-up.
COMPILED_MODULES = [
    "pipeline/payload.py",
    "pipeline/process.py",
    "pipeline/documents.py",
    "pipeline/derived_metrics.py",
    "pipeline/lambda_platform.py",
    "pipeline/invocations.py",
    "pipeline/emf.py",
    "pipeline/metric_sample.py",
    "pipeline/routing.py",
    "pipeline/patterns/message.py",
]


class BuildExtOrPurePython(build_ext):
    """Compile the extensions; if that fails, drop them all so the pure-Python modules load.

    All or none: mypyc's per-module shims import one shared library, so a
    half-built set would fail at import instead of falling back.
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no headers, a mypyc failure
            for extension in self.extensions:
                for path in (self.get_ext_fullpath(extension.name),):
                    if os.path.exists(path):
                        os.remove(path)
            self.extensions = []
            self.warn(
                f"cwl-pipeline: compiling the core with mypyc failed ({error}); "
                "installing it as pure Python (slower, same behaviour)"
            )


def _extensions() -> list[object]:
    if os.environ.get("CWLPIPE_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("cwl-pipeline: mypyc not available; the core stays pure Python", file=sys.stderr)
        return []
    try:
        return list(
            mypycify(COMPILED_MODULES, opt_level="3", debug_level="0", group_name="cwlpipe_core")
        )
    except BaseException as error:  # mypyc exits on a type error: still install something
        print(f"cwl-pipeline: mypyc failed ({error}); the core stays pure Python", file=sys.stderr)
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtOrPurePython})
