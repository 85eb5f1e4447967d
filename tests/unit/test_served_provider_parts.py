"""The pure parts of core/terraform/served_provider.py: the lock file, the package hash and
the provider's reattach line (from small real processes, no Terraform)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from loono_infra.core.terraform import served_provider
from loono_infra.core.terraform.served_provider import locked_provider, package_hash

LOCK = """\
provider "registry.terraform.io/hashicorp/random" {
  version = "3.2.0"
  hashes = [
    "h1:eeUh6cJ6wKLLuo4q9uQ0CA1Zvfq=",
  ]
}

provider "registry.terraform.io/hashicorp/aws" {
  version     = "3.39.0"
  constraints = "3.39.0"
  hashes = [
    "h1:goOMfGE4SjLps+hpxJFEM/pZFiNgvi6BMG8/w86+f6k=",
    "zh:4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3",
  ]
}
"""
ADDRESS = "registry.terraform.io/hashicorp/aws"


def test_the_aws_block_of_a_lock_file_is_read(tmp_path: Path) -> None:
    lock = tmp_path / ".terraform.lock.hcl"
    lock.write_text(LOCK, encoding="utf-8")
    assert locked_provider(lock) == (
        ADDRESS, "3.39.0", frozenset({"h1:goOMfGE4SjLps+hpxJFEM/pZFiNgvi6BMG8/w86+f6k="}))


def test_a_lock_file_without_aws_or_no_lock_file_gives_nothing(tmp_path: Path) -> None:
    lock = tmp_path / ".terraform.lock.hcl"
    assert locked_provider(lock) is None
    lock.write_text(LOCK.split("\n\n")[0] + "\n", encoding="utf-8")
    assert locked_provider(lock) is None


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


def _reattach_line(address: str, pid: int) -> str:
    """What a provider in debug mode prints; a Pid of -1 becomes the printing process's own."""
    value = {address: {"Protocol": "grpc", "Pid": pid, "Test": True,
                       "Addr": {"Network": "unix", "String": "/tmp/x/plugin1"}}}
    return f"\tTF_REATTACH_PROVIDERS='{json.dumps(value)}'"


@pytest.mark.parametrize("address, pid, served", [
    (ADDRESS, -1, True),
    ("registry.terraform.io/hashicorp/random", -1, False),  # another provider
    (ADDRESS, 1, False),  # another process's socket
])
def test_only_a_reattach_line_naming_this_provider_and_process_is_taken(
        address: str, pid: int, served: bool) -> None:
    process = subprocess.Popen([sys.executable, "-c", _PRINTS_THEN_WAITS,
                                _reattach_line(address, pid)], stdout=subprocess.PIPE)
    try:
        value = served_provider._reattach_value(process, ADDRESS)
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
    assert served_provider._reattach_value(process, ADDRESS) is None
    process.wait()
