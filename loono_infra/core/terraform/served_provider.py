"""One AWS provider process for the Terraform commands of one step (plan, then show -json).

Terraform starts the provider anew for each phase of each command: three times in a `plan`
and once more in `show -json` (counted with strace), each start an exec of a
170 MB Go binary that builds the whole AWS schema, about half a second apiece on these
machines. Terraform can instead attach to a provider already running (the documented
TF_REATTACH_PROVIDERS, the provider's `-debug` mode): this module starts it once per plan
and hands the plan's commands that variable.

Terraform checks an attached provider against nothing, so this module checks it first, as
Terraform would have: the `h1:` hash of the installed package folder must be one the
dependency lock file records. Anything short of that (no lock file, another hash, a provider
that will not start or speak) and the commands run as before, Terraform starting and checking
the provider itself. So do LOONO_SERVED_PROVIDER=off, TF_LOG (Terraform logs only the
providers it starts) and a TF_REATTACH_PROVIDERS of the caller's own. The provider dies with
this process (PR_SET_PDEATHSIG) and listens on a socket in a folder only this user can enter.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import platform
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from loono_infra.core.terraform import _provider_launcher

SWITCH_ENV = "LOONO_SERVED_PROVIDER"
REATTACH_ENV = "TF_REATTACH_PROVIDERS"
AWS_SOURCE = "hashicorp/aws"
_START_SECONDS = 30.0
_PROVIDER_BLOCK = re.compile(r'provider\s+"([^"]+)"\s*\{(.*?)\n\}', re.DOTALL)
_VERSION = re.compile(r'^\s*version\s*=\s*"([^"]+)"', re.MULTILINE)
_H1 = re.compile(r'"(h1:[A-Za-z0-9+/=]+)"')
_REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class ProviderPackage:
    """The AWS provider init installed, checked against the lock file."""

    address: str  # as the lock file names it, e.g. registry.terraform.io/hashicorp/aws
    executable: Path


def checked_package(workdir: Path, env: Mapping[str, str]) -> ProviderPackage | None:
    """The AWS provider of an initialised workdir, if it should be served with env and the lock
    file vouches for its package folder (hashing it takes about 0.15 s: a caller can do it
    beside other work)."""
    locked = locked_provider(workdir / ".terraform.lock.hcl") if _wanted(env) else None
    if locked is None:
        return None
    address, version, hashes = locked
    folder = workdir / ".terraform" / "providers" / address / version / _platform()
    executables = sorted(folder.glob("terraform-provider-aws*")) if folder.is_dir() else []
    if len(executables) != 1 or package_hash(folder) not in hashes:
        return None
    return ProviderPackage(address, executables[0])


@contextlib.contextmanager
def served_provider(package: ProviderPackage | None,
                    env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """env for the Terraform commands run inside: with package served by one process that
    lives as long as the block, or env as it is without a package or when it does not start."""
    served = dict(env)
    if package is None:
        yield served
        return
    with _running(package.executable, package.address, env) as reattach:
        if reattach is not None:
            served[REATTACH_ENV] = reattach
        yield served


def _wanted(env: Mapping[str, str]) -> bool:
    """Not when switched off, nor where the caller attaches providers of its own, nor when
    Terraform is asked to log (it logs only the providers it starts itself)."""
    return env.get(SWITCH_ENV, "on") != "off" and not any(
        env.get(name) for name in (REATTACH_ENV, "TF_LOG", "TF_LOG_PROVIDER"))


def locked_provider(lock_file: Path) -> tuple[str, str, frozenset[str]] | None:
    """(address, version, h1 hashes) of the AWS provider in a dependency lock file."""
    try:
        text = lock_file.read_text(encoding="utf-8")
    except OSError:
        return None
    for address, body in _PROVIDER_BLOCK.findall(text):
        version = _VERSION.search(body)
        if address.endswith("/" + AWS_SOURCE) and version is not None:
            return address, version.group(1), frozenset(_H1.findall(body))
    return None


def package_hash(folder: Path) -> str:
    """Terraform's `h1:` hash of an unpacked provider package (Go's dirhash.Hash1): the
    sha256 of the lines "<sha256 of file>  <relative path>\\n" of its files, sorted."""
    summary = hashlib.sha256()
    resolved = folder.resolve()
    files = sorted(path.relative_to(resolved).as_posix()
                   for path in resolved.rglob("*") if path.is_file())
    for name in files:
        with (resolved / name).open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        summary.update(f"{digest}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def _platform() -> str:
    machine = platform.machine().lower()
    return f"{sys.platform}_{_ARCHES.get(machine, machine)}"


@contextlib.contextmanager
def _running(binary: Path, address: str, env: Mapping[str, str]) -> Iterator[str | None]:
    """The provider running in debug mode; its reattach value, or None if it did not give
    one in time (it is stopped then)."""
    folder = Path(tempfile.mkdtemp(prefix="loono-provider-"))  # 0700: only this user connects
    try:
        process = _launched(binary, folder, env)
        try:
            yield _reattach_value(process, address)
        finally:
            process.kill()
            process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _launched(binary: Path, folder: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-S", "-I", _provider_launcher.__file__, str(os.getpid()),
               str(binary), "-debug"]
    return subprocess.Popen(command, cwd=folder, env={**env, "TMPDIR": str(folder)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _reattach_value(process: subprocess.Popen[bytes], address: str) -> str | None:
    """The TF_REATTACH_PROVIDERS value the provider printed, checked to name this provider
    and this process; the rest of what it prints is read and dropped."""
    assert process.stdout is not None
    line = _line_with_reattach(process.stdout, time.monotonic() + _START_SECONDS)
    if line is None:
        return None
    threading.Thread(target=process.stdout.read, daemon=True).start()
    try:
        attached = json.loads(line)[address]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(attached, dict) or attached.get("Pid") != process.pid:
        return None
    return json.dumps({address: attached})


def _line_with_reattach(stdout: IO[bytes], deadline: float) -> str | None:
    """The reattach value from the provider's first lines, None at its end or past deadline."""
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout.fileno(), selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                return None
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                return None
            pending += chunk
            found = _REATTACH_LINE.search(pending.decode("utf-8", "replace"))
            if found is not None:
                return found.group(1)
    return None
