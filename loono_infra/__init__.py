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
    "apply",
    "deploy",
    "destroy",
    "load_settings",
    "plan",
    "show",
    "validate",
]

_HOMES = {
    "ApplyResult": "loono_infra.pipeline",
    "Plan": "loono_infra.pipeline",
    "apply": "loono_infra.pipeline",
    "destroy": "loono_infra.pipeline",
    "deploy": "loono_infra.deploy",
    "DeployRecord": "loono_infra.deploy",
    "plan": "loono_infra.pipeline",
    "show": "loono_infra.pipeline",
    "validate": "loono_infra.pipeline",
    "Settings": "loono_infra.settings",
    "load_settings": "loono_infra.settings",
    "LoonoError": "loono_infra.errors",
}

if TYPE_CHECKING:
    from loono_infra.deploy import DeployRecord, deploy
    from loono_infra.errors import LoonoError
    from loono_infra.pipeline import ApplyResult, Plan, apply, destroy, plan, show, validate
    from loono_infra.settings import Settings, load_settings


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'loono_infra' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
