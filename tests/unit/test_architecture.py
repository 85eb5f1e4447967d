"""The import contract (.importlinter) holds, and fails when a lower layer imports a higher one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config",
                           str(root / ".importlinter")], cwd=root, env=env, text=True,
                          capture_output=True, check=False, timeout=120)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "loono_infra", tmp_path / "loono_infra",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(PROJECT_ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    completed = _lint(PROJECT_ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "4 kept, 0 broken" in completed.stdout


@pytest.mark.parametrize(("module", "planted", "contract"), [
    ("core/planted.py", "from loono_infra.flow import pipeline", "Presentation > flow"),
    ("gates/policy/planted.py", "from loono_infra.flow.targets import Target",
     "Judges never run Terraform"),
    ("gates/owners/planted.py", "from loono_infra.core.terraform import commands",
     "Judges never run Terraform"),
    ("sandbox/planted.py", "from loono_infra.sandbox.server import agent",
     "server side sits above"),
    ("flow/planted.py", "from loono_infra.sandbox.server.main import main",
     "Only the sandbox process"),
])
def test_a_planted_upward_import_breaks_the_contract(tmp_path: Path, module: str, planted: str,
                                                     contract: str) -> None:
    root = _copy(tmp_path)
    (root / "loono_infra" / module).write_text(f'"""Planted."""\n\n{planted}\n')
    completed = _lint(root)
    assert completed.returncode != 0, completed.stdout
    assert f"{contract}" in completed.stdout and "BROKEN" in completed.stdout
    assert f"loono_infra.{module.removesuffix('.py').replace('/', '.')}" in completed.stdout
