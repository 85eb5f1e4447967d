"""Settings: production's figures, and a table of bad inputs each named by field path."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from loono_infra.core.errors import SettingsError
from loono_infra.core.settings import load_settings, parse_settings
from tests.conftest import PROJECT_ROOT

PRODUCTION = PROJECT_ROOT / "environments" / "production.toml"


def production_data() -> dict[str, Any]:
    return tomllib.loads(PRODUCTION.read_text())


def test_production_carries_todays_figures() -> None:
    s = load_settings(PRODUCTION)
    assert (s.service.cpu, s.service.memory, s.service.desired_count) == (256, 512, 1)
    assert s.database.engine_version == "12"
    assert (s.database.allocated_storage_gb, s.database.max_allocated_storage_gb) == (20, 100)
    assert s.database.backup_retention_days == 7
    assert s.service.health_check.healthy_threshold == 3
    assert s.database.deletion_protection and s.database.final_snapshot
    assert s.database.parameter_group_family == "postgres12"


def test_sandbox_is_the_same_stack_on_the_sandbox() -> None:
    production = load_settings(PRODUCTION)
    sandbox = load_settings(PROJECT_ROOT / "environments" / "sandbox.toml")
    assert sandbox.target == "sandbox"
    # Same service but for the health check's timing: the sandbox probes at ALB's fastest.
    differing = {"environment", "health_check"}
    assert sandbox.service.model_dump(exclude=differing) == production.service.model_dump(
        exclude=differing)
    # Production's load balancer probes liveness only; the sandbox's test backend (busybox
    # httpd) cannot serve a path below its /health document, so its balancer probes /health.
    assert production.service.health_check.path == "/health/liveness"
    assert sandbox.deploy.health_path == production.deploy.health_path == "/health"
    assert production.service.health_check.grace_period_seconds >= 180
    assert sandbox.service.health_check.healthy_threshold == 3
    assert sandbox.database.engine_version == production.database.engine_version


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(production_data())
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return data


_DELETE = object()

BAD_INPUTS = [
    ("service.cpu", 300, "service.cpu", "Fargate accepts"),
    ("service.memory", 4096, "service", "does not pair with cpu 256"),
    ("service.desired_count", 0, "service.desired_count", "greater than or equal to 1"),
    ("database.allocated_storage_gb", 10, "database.allocated_storage_gb", "greater than or equal"),
    ("database.max_allocated_storage_gb", 20, "database", "must be above"),
    ("database.max_allocated_storage_gb", 70000, "database.max_allocated_storage_gb", "less than"),
    ("database.backup_retention_days", 36, "database.backup_retention_days", "less than or equal"),
    ("database.backup_retention_days", -1, "database.backup_retention_days", "greater than"),
    ("database.engine_version", "twelve", "database.engine_version", "major version only"),
    ("database.engine_version", "12.5", "database.engine_version", "a pinned minor would fight"),
    ("region", "europe", "region", "not an AWS region"),
    ("name_prefix", "loono-production-backend-green", "name_prefix", "32 character limit"),
    ("name_prefix", "Loono", "name_prefix", "lowercase"),
    ("name_prefix", "loono-prod-config", "name_prefix", "must not end in -config"),
    ("database.master_username", "rdsadmin", "database.master_username", "reserved"),
    ("database.master_username", "pg_owner", "database.master_username", "reserved"),
    ("service.health_check.healthy_threshold", 1, "service.health_check.healthy_threshold",
     "greater than or equal to 2"),
    ("service.health_check.path", "health", "service.health_check.path", "start with '/'"),
    ("logs.retention_days", 10, "logs.retention_days", "CloudWatch accepts"),
    ("network.cidr_block", "10.0.0.0/8", "network.cidr_block", "/16 to /20"),
    ("availability_zones", ["us-east-1a", "us-east-1b"], "availability_zones",
     "not zones of region"),
    ("state.bucket", "Bad_Bucket", "state.bucket", "not a valid S3 bucket"),
    ("service.repository", "Loono Backend", "service.repository", "ECR repository"),
    ("database.password", "hunter22", "database.password", "secrets are never settings"),
    ("service.cpu", _DELETE, "service.cpu", "Field required"),
    ("load_balancer.certificate_arn", "arn:aws:iam::123456789012:server-certificate/x",
     "load_balancer.certificate_arn", "not an ACM certificate ARN"),
    ("load_balancer.certificate_arn", _DELETE, "load_balancer", "certificate_arn is required"),
    ("load_balancer.tls_policy", "ELBSecurityPolicy-2016-08", "load_balancer.tls_policy",
     "Input should be"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), BAD_INPUTS,
                         ids=[f"{row[0]}={'(deleted)' if row[1] is _DELETE else repr(row[1])}"
                              for row in BAD_INPUTS])
def test_bad_input_names_the_field(path: str, value: Any, field: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(_with(path, value), "production.toml")
    fields = {p.field: p.message for p in caught.value.problems}
    assert field in fields, fields
    assert message in fields[field]


def test_every_problem_is_reported_at_once() -> None:
    data = _with("service.cpu", 300)
    data["database"]["backup_retention_days"] = 99
    data["region"] = "nowhere"
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "x.toml")
    assert {"service.cpu", "database.backup_retention_days", "region"} <= {
        p.field for p in caught.value.problems}
    assert "3 problems" in caught.value.message


def test_missing_file_and_bad_toml_are_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"nope\.toml"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("environment = \n")
    with pytest.raises(SettingsError) as caught:
        load_settings(broken)
    assert "not valid TOML" in caught.value.problems[0].message
    assert "line 1" in caught.value.problems[0].message


def test_settings_are_frozen() -> None:
    s = load_settings(PRODUCTION)
    with pytest.raises(ValueError):
        s.service.cpu = 512  # type: ignore[misc]


def test_owners_cannot_be_switched_off_for_an_aws_environment() -> None:
    data = production_data()
    data["ownership"] = {"required": False}
    with pytest.raises(SettingsError) as refused:
        parse_settings(data, "production.toml")
    assert [p.field for p in refused.value.problems] == ["ownership"]
    assert "only for sandbox-only environments" in refused.value.problems[0].message


_TOML_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)


def _paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(data, dict):
        return [prefix]
    return [prefix] + [path for key, value in data.items()
                       for path in _paths(value, (*prefix, key))]


@hyp_settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_edit_of_a_settings_file_gives_settings_or_a_settings_error(
        data: st.DataObject) -> None:
    document = production_data()
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(_paths(document)[1:]))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(_TOML_VALUE)
        else:
            del parent[path[-1]]
    try:
        parse_settings(document, "edited.toml")
    except SettingsError as error:
        assert error.problems and all(problem.field for problem in error.problems)


@hyp_settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_settings_file_gives_settings_or_a_settings_error(
        tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    file = tmp_path_factory.mktemp("toml") / "env.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError):
        load_settings(file)  # no random text is a whole environment
