"""loono-infra: Loono's production on AWS as a library.

    from loono_infra import load_settings, plan, apply
    p = plan(load_settings("environments/sandbox.toml"))
    apply(p)
    deploy(load_settings("environments/sandbox.toml"), image="loono-backend:3f2c1ab")

Names are imported on first use, so `import loono_infra` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "ApplyResult",
    "DeployRecord",
    "LoonoError",
    "Plan",
    "Settings",
    "TerraformEvent",
    "apply",
    "deploy",
    "destroy",
    "load_settings",
    "plan",
    "show",
    "validate",
]

_HOMES = {
    "ApplyResult": "loono_infra.flow.pipeline",
    "Plan": "loono_infra.flow.pipeline",
    "apply": "loono_infra.flow.pipeline",
    "destroy": "loono_infra.flow.pipeline",
    "deploy": "loono_infra.deploy",
    "DeployRecord": "loono_infra.deploy",
    "plan": "loono_infra.flow.pipeline",
    "show": "loono_infra.flow.pipeline",
    "validate": "loono_infra.flow.pipeline",
    "Settings": "loono_infra.core.settings",
    "load_settings": "loono_infra.core.settings",
    "LoonoError": "loono_infra.core.errors",
    "TerraformEvent": "loono_infra.core.terraform.events",
}

if TYPE_CHECKING:
    from loono_infra.core.errors import LoonoError
    from loono_infra.core.settings import Settings, load_settings
    from loono_infra.core.terraform.events import TerraformEvent
    from loono_infra.deploy import DeployRecord, deploy
    from loono_infra.flow.pipeline import ApplyResult, Plan, apply, destroy, plan, show, validate


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'loono_infra' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
