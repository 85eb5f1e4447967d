"""The pure parts of core/terraform/served_provider.py: the lock file, the package hash and
the provider's reattach line (from small real processes, no Terraform)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loono_infra.core.terraform import served_provider
from loono_infra.core.terraform.served_provider import package_hash

ADDRESS = "registry.terraform.io/hashicorp/aws"


@pytest.mark.parametrize("text, declares", [
    ('provider "aws" {\n  alias = "west"\n}\n', True),
    ("provider aws {}\n", True),  # a naked label is HCL too
    ('{"provider": {"aws": {"region": "eu-west-1"}}}', True),  # a .tf.json module
    ('terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n'
     '      configuration_aliases = [aws.west]\n    }\n  }\n}\n', True),
    ("# The provider this module is written against (3.39).\n", False),
    ('terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n',
     False),
])
def test_a_module_declaring_its_own_provider_is_seen(tmp_path: Path, text: str,
                                                     declares: bool) -> None:
    module = tmp_path / "modules" / "ecr"
    module.mkdir(parents=True)
    (module / ("main.tf.json" if text.startswith("{") else "main.tf")).write_text(text)
    assert served_provider.modules_declare_provider(tmp_path / "modules") is declares


def _shown(*configurations: tuple[str, str]) -> dict[str, Any]:
    return {"configuration": {"provider_config": {
        key: {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}
        | ({"module_address": module} if module else {})
        for key, module in configurations}}}


def test_a_plan_configuring_aws_twice_is_told_apart() -> None:
    assert not served_provider.several_configurations(_shown(("aws", "")))
    assert not served_provider.several_configurations({})
    assert served_provider.several_configurations(_shown(("aws", ""), ("aws.west", "")))
    assert served_provider.several_configurations(
        _shown(("aws", ""), ("module.ecr:aws", "module.ecr")))


def test_package_hash_is_sha256sum_of_sorted_files_hashed_again(tmp_path: Path) -> None:
    folder = tmp_path / "package"
    (folder / "docs").mkdir(parents=True)
    (folder / "terraform-provider-aws_v3.39.0_x5").write_bytes(b"\x7fELF provider")
    (folder / "docs" / "LICENSE").write_text("MPL\n", encoding="utf-8")
    (folder / "CHANGELOG.md").write_text("3.39.0\n", encoding="utf-8")
    names = ["CHANGELOG.md", "docs/LICENSE", "terraform-provider-aws_v3.39.0_x5"]
    listing = subprocess.run(["sha256sum", *names], cwd=folder, capture_output=True,
                             check=True).stdout  # "<hex>  <name>\n", as Go's dirhash.Hash1
    expected = "h1:" + base64.b64encode(hashlib.sha256(listing).digest()).decode()
    assert package_hash(folder) == expected
    (folder / "docs" / "LICENSE").write_text("MPL 2.0\n", encoding="utf-8")
    assert package_hash(folder) != expected



_PRINTS_THEN_WAITS = """
import os, sys, time
print(sys.argv[1].replace('"Pid": -1', f'"Pid": {os.getpid()}'), flush=True)
time.sleep(5)
"""


FOLDER = Path("/tmp/loono-provider-x")


def _reattach_line(address: str, pid: int, socket: str = f"{FOLDER}/plugin1",
                   network: str = "unix") -> str:
    """What a provider in debug mode prints; a Pid of -1 becomes the printing process's own."""
    value = {address: {"Protocol": "grpc", "Pid": pid, "Test": True,
                       "Addr": {"Network": network, "String": socket}}}
    return f"\tTF_REATTACH_PROVIDERS='{json.dumps(value)}'"


@pytest.mark.parametrize("line, served", [
    (_reattach_line(ADDRESS, -1), True),
    (_reattach_line("registry.terraform.io/hashicorp/random", -1), False),  # another provider
    (_reattach_line(ADDRESS, 1), False),  # another process
    (_reattach_line(ADDRESS, -1, "/tmp/shared/plugin1"), False),  # outside the private folder
    (_reattach_line(ADDRESS, -1, "127.0.0.1:4000", "tcp"), False),  # reachable by anyone
])
def test_only_a_reattach_line_naming_this_provider_process_and_folder_is_taken(
        line: str, served: bool) -> None:
    process = subprocess.Popen([sys.executable, "-c", _PRINTS_THEN_WAITS, line],
                               stdout=subprocess.PIPE)
    try:
        value = served_provider._reattach_value(process, FOLDER)
    finally:
        process.kill()
        process.wait()
    if served:
        assert value is not None and json.loads(value)[ADDRESS]["Pid"] == process.pid
    else:
        assert value is None


def test_a_provider_that_ends_without_the_line_gives_nothing() -> None:
    process = subprocess.Popen([sys.executable, "-c", "print('panic: no schema')"],
                               stdout=subprocess.PIPE)
    assert served_provider._reattach_value(process, FOLDER) is None
    process.wait()
