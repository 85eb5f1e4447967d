"""Rendering is pure and deterministic, passes values as literals and never writes a secret."""

from __future__ import annotations

import json
from pathlib import Path

from loono_infra.core.render import (
    SANDBOX_SERVICES,
    SandboxEndpoint,
    modules_source_for,
    render,
    write_root,
)
from loono_infra.core.settings import Settings, load_settings, parse_settings
from loono_infra.core.workspace import Project
from tests.conftest import PROJECT_ROOT

PRODUCTION = PROJECT_ROOT / "environments" / "production.toml"
LOCK = (PROJECT_ROOT / "terraform" / ".terraform.lock.hcl").read_text()


def _render(settings: Settings, sandbox: str | None = None, dialect: str = "current") -> dict[
        str, str]:
    return render(settings, modules_source="../../../terraform/modules", lock_file_text=LOCK,
                  sandbox=SandboxEndpoint(sandbox) if sandbox else None,
                  dialect=dialect).files  # type: ignore[arg-type]


def test_same_settings_give_byte_identical_files(tmp_path: Path) -> None:
    first = _render(load_settings(PRODUCTION), "http://127.0.0.1:1234")
    second = _render(load_settings(PRODUCTION), "http://127.0.0.1:1234")
    assert first == second
    for folder in ("a", "b"):
        write_root(render(load_settings(PRODUCTION), modules_source="../m", lock_file_text=LOCK),
                   tmp_path / folder)
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_write_root_reports_changes_only_when_something_changed(tmp_path: Path) -> None:
    rendered = render(load_settings(PRODUCTION), modules_source="../m", lock_file_text=LOCK)
    assert write_root(rendered, tmp_path) is True
    assert write_root(rendered, tmp_path) is False


def test_settings_values_reach_terraform_only_as_tfvars_literals() -> None:
    data = load_settings(PRODUCTION).model_dump(mode="json")
    data["service"]["environment"] = {"GREETING": "${file(\"/etc/passwd\")}"}
    files = _render(parse_settings(data))
    tfvars = json.loads(files["terraform.tfvars.json"])
    assert tfvars["service"]["environment"]["GREETING"] == '${file("/etc/passwd")}'
    assert "/etc/passwd" not in files["main.tf.json"]
    assert tfvars["service"]["cpu"] == 256 and tfvars["database"]["engine_version"] == "12"


def test_no_secret_in_any_rendered_file(monkeypatch: object) -> None:
    files = _render(load_settings(PRODUCTION), "http://127.0.0.1:1")
    main = json.loads(files["main.tf.json"])
    assert main["variable"]["db_master_password"]["sensitive"] is True
    assert main["variable"]["db_master_password"]["default"] is None  # needed only to create
    assert "password_env" not in files["terraform.tfvars.json"]
    assert "LOONO_DB_PASSWORD" not in "".join(files.values())


def test_sandbox_points_every_service_and_the_backend_at_the_sandbox() -> None:
    url = "http://127.0.0.1:4321"
    main = json.loads(_render(load_settings(PRODUCTION), url)["main.tf.json"])
    endpoints = main["provider"]["aws"]["endpoints"][0]
    assert set(endpoints) == set(SANDBOX_SERVICES) and set(endpoints.values()) == {url}
    backend = main["terraform"]["backend"]["s3"]
    assert backend["endpoints"]["s3"] == url and backend["use_path_style"] is True
    assert main["provider"]["aws"]["skip_requesting_account_id"] is True


def test_legacy_dialect_uses_terraform_1_0_backend_keys() -> None:
    url = "http://127.0.0.1:4321"
    backend = json.loads(_render(load_settings(PRODUCTION), url, "legacy")["main.tf.json"])[
        "terraform"]["backend"]["s3"]
    assert backend["endpoint"] == url and backend["dynamodb_endpoint"] == url
    assert "endpoints" not in backend and backend["force_path_style"] is True


def test_real_aws_render_has_no_sandbox_endpoint() -> None:
    main = json.loads(_render(load_settings(PRODUCTION))["main.tf.json"])
    assert "endpoints" not in main["provider"]["aws"]
    assert main["terraform"]["backend"]["s3"]["bucket"] == "loono-terraform-state-production"


def test_every_module_is_wired_with_a_relative_source(tmp_path: Path) -> None:
    settings = load_settings(PRODUCTION)
    root = Project(tmp_path).root_module_dir(settings, sandbox=True)
    assert root == tmp_path / ".loono" / "sandbox" / "production"
    source = modules_source_for(root, tmp_path / "terraform" / "modules")
    assert source == "../../../terraform/modules"
    main = json.loads(_render(settings)["main.tf.json"])
    assert {m["source"].rsplit("/", 1)[1] for m in main["module"].values()} == {
        "network", "ecr", "ecs", "rds", "cloudwatch"}
