"""The installed package, not the checkout: a wheel built from the sources answers in both languages.

Slow (about 15 s: a wheel build in pip's isolated build environment and a fresh virtualenv), hence the
`packaging` marker; it still runs under plain `pytest`. The fresh virtualenv gets the wheel itself with
`--no-deps` and reads the dependencies from the running interpreter's site-packages (a `.pth` line, which
does not run the editable install's own `.pth` hook), so no download is needed and the package under
test is the wheel's copy: the test checks where `bot` and its catalogs were imported from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
# What a clone has that the build reads; the rest of the checkout (.venv, build/, tests) stays out.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "bot", "locales")
JUNK = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info", "build", "dist")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from a copy of the sources, as `pip install .` or `pip install git+…` does."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=JUNK)
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)])
    (built,) = out.glob("hali-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; returns its bin folder."""
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_hali_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return env / "bin"


def _run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _ask(bin_dir: Path, tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "HALI_LOCALES_DIR"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'hali.db'}"
    return _run([str(bin_dir / "hali"), "ask", *args], cwd=tmp_path, env=env)


def test_the_wheel_carries_every_file_of_the_package(wheel: Path) -> None:
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bot").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert sources - in_wheel == set()  # catalogue data, templates, static files, migrations
    assert {"bot/locales/en/LC_MESSAGES/messages.mo", "bot/locales/sw/LC_MESSAGES/messages.mo"} <= in_wheel


def test_the_installed_package_is_the_wheels_own_copy(installed: Path, tmp_path: Path) -> None:
    script = "import bot.i18n as i; print(i.__file__); print(i.locales_dir())"
    where = _run([str(installed / "python"), "-c", script], cwd=tmp_path)  # not the checkout's folder
    module, locales = where.split()
    venv_root = str(installed.parent)
    assert module.startswith(venv_root) and locales.startswith(venv_root)
    assert Path(locales, "sw", "LC_MESSAGES", "messages.mo").is_file()


def test_an_installed_hali_answers_in_english(installed: Path, tmp_path: Path) -> None:
    answer = _ask(installed, tmp_path, "Is KRA iTax working?")
    assert "KRA iTax" in answer
    assert "No problems known" in answer


def test_an_installed_hali_answers_in_swahili(installed: Path, tmp_path: Path) -> None:
    answer = _ask(installed, tmp_path, "--lang", "sw", "iTax inafanya kazi?")
    assert "KRA iTax" in answer
    assert "Hakuna tatizo linalojulikana" in answer
