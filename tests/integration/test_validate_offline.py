"""`validate` on a laptop with no AWS account and no network: production validates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, copy_project

pytestmark = pytest.mark.integration


def test_production_validates_with_no_credentials_and_no_network(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LOONO_DB", "TF_VAR_"))}
    env |= {"PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "loono_infra.cli", "validate", "--env", "production",
               "--json"]
    if shutil.which("unshare") and os.geteuid() == 0:
        command = ["unshare", "-n", *command]  # no network at all: no metadata service either
    completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                               check=False, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert '"valid": true' in completed.stdout
    assert not (project / ".loono" / "aws" / "production" / "plan.tfplan").exists()


def test_fmt_check_names_an_unformatted_module_and_fmt_fixes_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from loono_infra.cli import app

    module = tmp_path / "terraform" / "modules" / "x"
    module.mkdir(parents=True)
    (module / "main.tf").write_text('locals {\n  a = 1\n  long_name = 2\n}\n')
    runner = CliRunner()
    checked = runner.invoke(app, ["fmt", "--check", "--folder", str(tmp_path / "terraform")])
    assert checked.exit_code == 1 and "not formatted" in checked.output
    assert "modules/x/main.tf" in checked.output
    assert (module / "main.tf").read_text() == 'locals {\n  a = 1\n  long_name = 2\n}\n'
    fixed = runner.invoke(app, ["fmt", "--folder", str(tmp_path / "terraform")])
    assert fixed.exit_code == 0
    assert (module / "main.tf").read_text() == 'locals {\n  a         = 1\n  long_name = 2\n}\n'
    again = runner.invoke(app, ["fmt", "--check", "--folder", str(tmp_path / "terraform")])
    assert again.exit_code == 0, again.output


def test_the_project_modules_are_formatted() -> None:
    from typer.testing import CliRunner

    from loono_infra.cli import app

    checked = CliRunner().invoke(app, ["fmt", "--check", "--folder",
                                       str(PROJECT_ROOT / "terraform")])
    assert checked.exit_code == 0, checked.output
