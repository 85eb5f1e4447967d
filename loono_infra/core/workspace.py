"""The project on disk: its modules, policies, environments, and every path under `.loono/`.

`Project` is the one place that spells the work area's layout; everything else asks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings

WORK_AREA = ".loono"


def log_group_name(name_prefix: str) -> str:
    """The service's CloudWatch log group (the ECS awslogs driver writes there)."""
    return f"/ecs/{name_prefix}"


def placement(sandbox: bool) -> str:
    """The folder that separates runs against the sandbox from runs against AWS."""
    return "sandbox" if sandbox else "aws"


@dataclass(frozen=True)
class Project:
    """A checkout holding terraform/modules, environments/ and the .loono work area."""

    root: Path

    @property
    def modules_dir(self) -> Path:
        return self.root / "terraform" / "modules"

    @property
    def lock_file(self) -> Path:
        return self.root / "terraform" / ".terraform.lock.hcl"

    @property
    def policies_dir(self) -> Path:
        return self.root / "policies"

    @property
    def work_area(self) -> Path:
        return self.root / WORK_AREA

    @property
    def tooling_dir(self) -> Path:
        return self.work_area / "tooling"

    @property
    def sandbox_dir(self) -> Path:
        """The sandbox's state file, log, TLS files and kept secrets."""
        return self.work_area / "sandbox"

    @property
    def policy_cache_dir(self) -> Path:
        return self.work_area / "policy-cache"

    def root_module_dir(self, settings: Settings, sandbox: bool, engine_tag: str = "") -> Path:
        """Where an environment's root module is rendered: .loono/<aws|sandbox>/<env>[@engine].

        Engines other than the embedded one get their own directory (engine_tag), so two
        Terraform versions never share one .terraform folder.
        """
        name = f"{settings.environment}@{engine_tag}" if engine_tag else settings.environment
        return self.work_area / placement(sandbox) / name

    def deploys_dir(self, settings: Settings, sandbox: bool) -> Path:
        """Deploy records of one environment."""
        return self.work_area / "deploys" / placement(sandbox) / settings.environment

    def applies_dir(self, settings: Settings, sandbox: bool) -> Path:
        """Apply records of one environment."""
        return self.work_area / "applies" / placement(sandbox) / settings.environment

    def module_files(self) -> list[Path]:
        """Every file of the modules, for init's fingerprint."""
        return sorted(p for p in self.modules_dir.rglob("*.tf") if p.is_file())

    @classmethod
    def of(cls, settings: Settings) -> Project:
        """The project a settings file belongs to: the nearest folder up with terraform/modules."""
        start = settings.source.parent if settings.source else Path.cwd()
        for folder in (start, *start.parents):
            if (folder / "terraform" / "modules").is_dir():
                return cls(folder)
        raise LoonoError(f"no terraform/modules folder above {start}")
