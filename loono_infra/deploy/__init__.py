"""Deploy: push the image, roll the ECS service, wait for a healthy rollout, roll back on
failure."""

from __future__ import annotations

from loono_infra.deploy.flow import DeployHooks, Timing, deploy
from loono_infra.deploy.record import DeployRecord

__all__ = ["DeployHooks", "DeployRecord", "Timing", "deploy"]
