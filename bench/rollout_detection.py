"""How fast a deploy notices a failed rollout, and what a good deploy and a re-push cost.

In one run, on a sandbox of its own (real Docker engine, real registry, the sandbox's ECS agent):
  1. crash loop: a crash-looping image is deployed `--rounds` times; each round measures from
     the first task of the new revision stopping (its ECS stoppedAt) to `deploy` raising after
     the rollback. Target: <= 10 s (aws ecs wait services-stable polls every 15 s for up to
     10 min; fabfuel/ecs-deploy waits 300 s by default).
  2. success: from ECS marking the rollout COMPLETED to the watcher seeing it (<= one poll
     interval), and from the third healthy health check to `deploy` returning.
  3. re-push of an unchanged image: layers uploaded and seconds, against a bare `docker push`
     of the same image through the engine (which also skips existing layers).
The last line is `rollout_detection seconds=<median> target=10`.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import docker
from _scratch import rounds_argument, scratch_project

from loono_infra.core.errors import DeployFailedError
from loono_infra.core.settings import Settings, load_settings
from loono_infra.deploy import DeployRecord, deploy
from loono_infra.flow import pipeline
from loono_infra.sandbox.backend_image import build_test_backend
from loono_infra.sandbox.control import require_sandbox
from loono_infra.sandbox.server.registry import REGISTRY_USER
from loono_infra.sandbox.server.wiring import SANDBOX_REGISTRY_PASSWORD

TARGET_SECONDS = 10.0


def ecs_client(project: Path) -> Any:
    return boto3.client("ecs", endpoint_url=require_sandbox(project).url,
                        region_name="eu-central-1", aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox")


def moment(record: DeployRecord, event: str) -> datetime:
    started = datetime.fromisoformat(record.started_at)
    at = next(e["at"] for e in record.timeline if e["event"] == event)
    return started + timedelta(seconds=at)


def crash_round(settings: Settings, ecs: Any) -> float:
    try:
        deploy(settings, "loono-backend:bench-crash")
    except DeployFailedError as failed:
        raised = datetime.now(UTC)
        record = json.loads(Path(str(failed.record_path)).read_text(encoding="utf-8"))
    else:
        raise SystemExit("the crash-looping image was not refused")
    revision = record["task_definition"]
    arns = ecs.list_tasks(cluster="loono-sbx", serviceName="loono-sbx",
                          desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster="loono-sbx", tasks=arns)["tasks"]
    first_stop = min(t["stoppedAt"] for t in tasks if t["taskDefinitionArn"] == revision)
    return (raised - first_stop).total_seconds()


def success_figures(settings: Settings, ecs: Any) -> tuple[float, float]:
    record = deploy(settings, "loono-backend:bench-v2")
    service = ecs.describe_services(cluster="loono-sbx", services=["loono-sbx"])["services"][0]
    completed = service["deployments"][0]["updatedAt"]
    seen = moment(record, "rollout success")
    tail = record.seconds - next(e["at"] for e in record.timeline if e["event"] == "health")
    return (seen - completed).total_seconds(), tail


def repush_figures(settings: Settings) -> tuple[DeployRecord, float]:
    record = deploy(settings, "loono-backend:bench-v2")
    engine = docker.from_env()
    repository = record.repository
    started = time.monotonic()
    for item in engine.api.push(repository, tag="bench-v2", stream=True, decode=True,
                                auth_config={"username": REGISTRY_USER,
                                             "password": SANDBOX_REGISTRY_PASSWORD}):
        if "error" in item:
            raise SystemExit(f"bare docker push failed: {item['error']}")
    return record, time.monotonic() - started


def main() -> None:
    rounds = rounds_argument(5)
    with scratch_project() as project:
        settings = load_settings(project / "environments" / "sandbox.toml")
        pipeline.apply(pipeline.plan(settings), settings)
        engine = docker.from_env()
        for tag, mode in (("bench-v1", "healthy"), ("bench-v2", "healthy"),
                          ("bench-crash", "crash")):
            build_test_backend(engine, f"loono-backend:{tag}", mode, tag)
        deploy(settings, "loono-backend:bench-v1")
        ecs = ecs_client(project)
        detections = [crash_round(settings, ecs) for _ in range(rounds)]
        seen_after, tail = success_figures(settings, ecs)
        repush, bare = repush_figures(settings)
    poll = settings.deploy.poll_seconds
    push_seconds = next(e["seconds"] for e in repush.timeline
                        if e["event"] == "already in the repository")
    print(f"crash loop, first task stopped -> deploy raised (after rollback), {rounds} rounds: "
          f"{', '.join(f'{d:.2f}' for d in detections)} s")
    print(f"success: rollout COMPLETED -> seen by the watcher {seen_after:.2f} s "
          f"(poll interval {poll:g} s); third healthy check -> deploy returned {tail:.3f} s")
    print(f"re-push unchanged image: pushed={repush.pushed} layers_uploaded="
          f"{repush.layers_uploaded} {push_seconds:.3f} s; bare docker push of it {bare:.3f} s "
          f"(ratio {push_seconds / bare:.2f})")
    print(f"rollout_detection seconds={statistics.median(detections):.2f} "
          f"target={TARGET_SECONDS:g}")


if __name__ == "__main__":
    main()
