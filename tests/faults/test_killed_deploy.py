"""Row 11 of the fault matrix: a deploy SIGKILLed right after UpdateService."""

from __future__ import annotations

import json
import time

import docker
import pytest

from loono_infra.sandbox.backend_image import build_test_backend
from tests.faults.conftest import Sandboxed, kill_hard, wait_until

pytestmark = pytest.mark.integration
# The local name of this module's test images: its own, so the images another module (or a
# pytest-xdist worker) builds under the same tags never replace them mid-test.
LOCAL_IMAGE = "loono-test-killed"
LOCK_TTL = 60  # the shortest the settings allow


def _primary(sandboxed: Sandboxed) -> str:
    service = sandboxed.aws("ecs").describe_services(cluster="loono-sbx",
                                                      services=["loono-sbx"])["services"][0]
    return str(next(d for d in service["deployments"] if d["status"] == "PRIMARY")[
        "taskDefinition"])


def _status(sandboxed: Sandboxed) -> dict[str, object]:
    shown = sandboxed.checkout.run("status", "--json")
    return dict(json.loads(shown.stdout))


def test_a_deploy_killed_after_update_service_is_seen_and_the_next_one_ends_healthy(
        sandboxed: Sandboxed) -> None:
    checkout = sandboxed.checkout
    settings = checkout.root / "environments" / "sandbox.toml"
    settings.write_text(settings.read_text().replace(
        "[deploy]\n", f"[deploy]\nlock_ttl_seconds = {LOCK_TTL}\n", 1))
    assert checkout.run("plan").returncode == 2
    assert checkout.run("apply").returncode == 0
    engine = docker.from_env()
    for tag, version in (("v1", "1"), ("v2", "2")):
        build_test_backend(engine, f"{LOCAL_IMAGE}:{tag}", "healthy", version)
    first = checkout.run("deploy", "--image", f"{LOCAL_IMAGE}:v1")
    assert first.returncode == 0, first.stderr
    serving = _primary(sandboxed)
    deploy = checkout.start("deploy", "--image", f"{LOCAL_IMAGE}:v2")
    wait_until(lambda: _primary(sandboxed) != serving, 180, "UpdateService of the second deploy")
    kill_hard(deploy)
    seen = _status(sandboxed)
    assert "held by" in str(seen["deploy_lock"]) and "pid" in str(seen["deploy_lock"])
    assert str(seen["task_definition"]).rsplit("/", 1)[-1] in {
        serving.rsplit("/", 1)[-1], _primary(sandboxed).rsplit("/", 1)[-1]}
    refused = checkout.run("deploy", "--image", f"{LOCAL_IMAGE}:v2")
    assert refused.returncode == 1 and "another deploy of this service is running" in \
        refused.stderr, refused.stderr
    time.sleep(LOCK_TTL + 2)  # the dead deploy's lock expires
    again = checkout.run("deploy", "--image", f"{LOCAL_IMAGE}:v2")
    assert again.returncode == 0, again.stderr
    final = _status(sandboxed)
    assert final["healthy"] and final["deploy_lock"] is None
    assert final["task_definition"] == _primary(sandboxed)
