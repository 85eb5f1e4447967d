"""Shared test helpers: the project root and a way to copy it into a scratch folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def copy_project(destination: Path) -> Path:
    """Copies what a project needs (modules, environments) into destination; returns it."""
    for name in ("terraform", "environments", "policies", ".github"):
        shutil.copytree(PROJECT_ROOT / name, destination / name,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return destination


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the project, so a test can break files without touching the checkout."""
    return copy_project(tmp_path / "project")
