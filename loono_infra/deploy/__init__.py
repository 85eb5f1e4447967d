"""Deploy (a flow): push the image, roll the ECS service, wait for a healthy rollout, roll
back on failure; the running service's status and logs (deploy/status.py).

May import: flow (targets), clients, the sandbox's client side, core."""

from __future__ import annotations

from loono_infra.deploy.flow import DeployHooks, Timing, deploy
from loono_infra.deploy.record import DeployRecord

__all__ = ["DeployHooks", "DeployRecord", "Timing", "deploy"]
