"""Build hook: the templates and the Alembic migrations live at the top of the
repository (beside the packages, where contributors edit them) and are copied
into the wheel as ``advocate/_bundle/{templates,migrations}``, so a plain
``pip install .`` gives a working app. Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("templates", "migrations")


class BuildPyWithBundle(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        target = Path(self.build_lib) / "advocate" / "_bundle"
        for name in BUNDLED:
            dest = target / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(
                ROOT / name, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )


setup(cmdclass={"build_py": BuildPyWithBundle})
