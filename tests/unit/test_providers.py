"""The provider zip is verified against the official checksum before it is mirrored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loono_infra.core.errors import ProviderError
from loono_infra.core.providers import (
    AWS_PROVIDER_SHA256,
    AWS_PROVIDER_ZIP,
    bundled_provider_zip,
    prepare_provider,
    sha256_of,
    verify_zip,
)


def test_bundled_zip_is_the_official_release() -> None:
    assert sha256_of(bundled_provider_zip()) == AWS_PROVIDER_SHA256


def test_a_zip_with_another_checksum_is_refused(tmp_path: Path) -> None:
    forged = tmp_path / AWS_PROVIDER_ZIP
    forged.write_bytes(b"not the provider")
    with pytest.raises(ProviderError, match="does not match the official"):
        verify_zip(forged)
    with pytest.raises(ProviderError):
        prepare_provider(tmp_path / "tooling", zip_path=forged)
    assert not (tmp_path / "tooling" / "terraformrc").exists()


def test_mirror_and_config_are_laid_out_once(tmp_path: Path) -> None:
    supply = prepare_provider(tmp_path)
    mirrored = supply.mirror_dir / "registry.terraform.io/hashicorp/aws" / AWS_PROVIDER_ZIP
    assert sha256_of(mirrored) == AWS_PROVIDER_SHA256
    config = supply.cli_config.read_text()
    assert "filesystem_mirror" in config and str(supply.mirror_dir) in config
    assert "plugin_cache_dir" in config
    before = mirrored.stat().st_mtime_ns
    assert prepare_provider(tmp_path) == supply
    assert mirrored.stat().st_mtime_ns == before
    assert supply.environment() == {"TF_CLI_CONFIG_FILE": str(supply.cli_config)}


def test_a_swapped_source_zip_is_caught_on_the_next_prepare(tmp_path: Path) -> None:
    source = tmp_path / "source" / AWS_PROVIDER_ZIP
    source.parent.mkdir()
    shutil.copyfile(bundled_provider_zip(), source)
    prepare_provider(tmp_path / "tooling", zip_path=source)
    source.write_bytes(b"tampered")
    with pytest.raises(ProviderError):
        prepare_provider(tmp_path / "tooling", zip_path=source)
