"""`pip install .` (not editable) gives a working app: a wheel built from the
source, installed into a fresh virtual environment, migrates a database and
serves the log-in page with its stylesheet."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "advocate",
    "tenants",
    "templates",
    "migrations",
    "pyproject.toml",
    "setup.py",
    "README.md",
)


def _run(args, **kw):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)  # noqa: S603 - our own commands
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_installs_into_a_fresh_venv_migrates_and_serves_login(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_bundle")
            )
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path / "dist"
    # No build isolation: the build backend (setuptools) is already installed, nothing is downloaded.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(src),
        ]
    )
    [wheel] = dist.glob("advocate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "advocate/_bundle/templates/auth/login.html",
        "advocate/_bundle/migrations/env.py",
        "advocate/static/css/app.css",
        "advocate/letters/fonts/",
        "advocate/rates/data/",
    ):
        assert any(n.startswith(expected) for n in names), f"{expected} is not in the wheel"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages (a plain path:
    # its .pth files, such as an editable install of the checkout, are not read).
    site = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (site / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])

    work = tmp_path / "run"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "FLASK", "DATABASE", "MIGRATION"))
    }
    env.update(
        SECRET_KEY="packaging-test",  # noqa: S106 - a throwaway key for a throwaway app
        DATABASE_URL=f"sqlite:///{work / 'app.db'}",
        PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
    )
    _run([str(py), "-m", "flask", "--app", "advocate", "db", "upgrade", "heads"], cwd=work, env=env)
    check = textwrap.dedent(
        """
        import advocate, sys
        assert advocate.__file__.startswith(sys.prefix), advocate.__file__
        app = advocate.create_app({"TESTING": True})
        client = app.test_client()
        r = client.get("/login")
        assert r.status_code == 200 and b'name="csrf_token"' in r.data, r.status_code
        css = client.get("/static/css/app.css")
        assert css.status_code == 200 and len(css.data) > 100
        css.close()
        print("ok")
        """
    )
    assert _run([str(py), "-c", check], cwd=work, env=env).stdout.strip() == "ok"
