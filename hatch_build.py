"""Hatch build hook: compiles the optional C speedups (desk/_native.c) into the wheel or, for an editable
install, next to the source.

Why a hook and not setuptools as the build backend: hatchling already ships themes/ and config/ inside the wheel;
this only adds one extension module, compiled with setuptools' ``build_ext`` (the standard, portable way to get
the interpreter's compiler flags). The module is optional: when there is no compiler, or the build fails, the
hook warns and the wheel stays pure Python (``desk.native`` then falls back to the Python implementations).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "desk/_native.c"


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        editable = version == "editable"
        try:
            built = self._compile(inplace=editable)
        except Exception as exc:  # no compiler, no headers: the pure-Python path runs
            self.app.display_warning(f"desk: C speedups not built ({type(exc).__name__}: {exc}); pure Python")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if not editable:  # an editable install imports the module from the source tree, where it was built
            build_data["force_include"][str(built)] = f"desk/{built.name}"

    def _compile(self, *, inplace: bool) -> Path:
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext

        root = Path(self.root)
        extension = Extension(
            "desk._native",
            [SOURCE],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
        distribution = Distribution({"name": "desk", "ext_modules": [extension], "script_name": "hatch_build.py"})
        distribution.src_root = str(root)
        command = build_ext(distribution)
        command.inplace = inplace
        scratch = Path(tempfile.mkdtemp(prefix="desk-native-"))
        command.build_temp = str(scratch / "temp")
        command.build_lib = str(scratch / "lib")
        command.ensure_finalized()
        if inplace:  # a failed build must leave pure Python behind, not a stale module from an earlier source
            for stale in (root / "desk").glob("_native.*.so"):
                stale.unlink()
        cwd = Path.cwd()
        os.chdir(root)  # build_ext resolves the source and the in-place target relative to the working directory
        try:
            command.run()
        finally:
            os.chdir(cwd)
        built = Path(command.get_ext_fullpath("desk._native"))
        return built if built.is_absolute() else root / built
