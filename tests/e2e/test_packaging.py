"""What ``make dist`` ships: the package and nothing else, with its licence and metadata."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.e2e.project import REPO

pytestmark = pytest.mark.e2e


def test_the_wheel_holds_arq_django_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
    outside = [name for name in names if not name.startswith(("arq_django/", f"{dist_info}/"))]
    assert outside == [], outside
    packaged = {name.split("/")[1] for name in names if name.startswith("arq_django/")}
    assert {"__init__.py", "py.typed", "migrations", "management"} <= packaged
    assert not any(part in name for name in names for part in ("tests/", "bench/", "demo/", "settings/"))
    assert f"{dist_info}/licenses/LICENSE" in names


def test_the_wheel_metadata_names_the_license_urls_and_every_django_ci_runs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier")
    for version in ("5.2", "6.0", "6.1"):
        assert f"Framework :: Django :: {version}" in classifiers
    for version in ("3.11", "3.12"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL"))
    assert {"Changelog", "Documentation", "Source", "Issues"} <= set(urls)


def test_the_sdist_ships_the_license_and_changelog(wheel: Path) -> None:
    (sdist,) = (REPO / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml"} <= names


def test_twine_check_passes(wheel: Path) -> None:
    files = sorted(str(path) for path in (REPO / "dist").iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
