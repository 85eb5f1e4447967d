"""One AWS provider process for the Terraform commands of one plan (plan, then show -json).

Terraform starts the provider anew for each phase of each command: three times in a `plan`
and once more in `show -json` (counted with strace), each start an exec of a 170 MB Go binary
that builds the whole AWS schema, about half a second apiece on these machines. Terraform can
instead attach to a provider already running (TF_REATTACH_PROVIDERS, the provider's `-debug`
mode, documented for debugging providers): this module starts it once per plan and hands the
plan's commands that variable.

Terraform 1.15 checks nothing it attaches to, so this module checks first, from ground the change
under judgment cannot edit: the installed package must be the one file of the bundled
provider (AWS_PROVIDER_VERSION), with the `h1:` hash this code pins (AWS_PROVIDER_H1, that of
the checksum-verified zip). The file hashed is the file run: it is opened once, without
following a link, hashed from that descriptor and executed through it. Anything short of
that and the commands run as before, Terraform starting and checking the provider itself; so
do LOONO_SERVED_PROVIDER=off, TF_LOG (Terraform logs only the providers it starts) and a
TF_REATTACH_PROVIDERS of the caller's own. The provider dies with this process
(PR_SET_PDEATHSIG) and listens on a socket in a folder only this user can enter.

One process serves every configuration of the provider it is attached for, and each
configuration Terraform sets up replaces the one before: a plan whose modules declare
provider configurations of their own must not be served: the flow does not serve one whose
module files plainly declare one (`modules_declare_provider`), and plans again without serving when
the shown plan says so (`several_configurations`).
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
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from loono_infra.core.providers import AWS_PROVIDER_ADDRESS, AWS_PROVIDER_H1, AWS_PROVIDER_VERSION
from loono_infra.core.terraform import _provider_launcher

SWITCH_ENV = "LOONO_SERVED_PROVIDER"
REATTACH_ENV = "TF_REATTACH_PROVIDERS"
_START_SECONDS = 30.0
_REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
_PROVIDER_BLOCK = re.compile(r'\bprovider\s*"?aws"?\s*\{|"provider"\s*:|configuration_aliases')
_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# Where newer plugin libraries would put or share the socket instead of the private folder.
_SOCKET_PLACES = ("PLUGIN_UNIX_SOCKET_DIR", "PLUGIN_UNIX_SOCKET_GROUP")


class ProviderPackage:
    """The bundled AWS provider as init installed it, opened and checked; close() once done
    (served_provider does)."""

    def __init__(self, workdir: Path, name: str, descriptor: int) -> None:
        self.workdir = workdir  # where Terraform would have run it
        self.name = name  # the executable's file name
        self.descriptor = descriptor  # open read-only on it: what is run
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.descriptor)


def checked_package(workdir: Path, env: Mapping[str, str]) -> ProviderPackage | None:
    """The AWS provider of an initialised workdir, opened, if it should be served with env
    and hashes to AWS_PROVIDER_H1 (about 0.15 s: a caller can do it beside other work)."""
    if not _wanted(env):
        return None
    folder = (workdir / ".terraform" / "providers" / AWS_PROVIDER_ADDRESS / AWS_PROVIDER_VERSION
              / _platform())
    try:
        names = os.listdir(folder)
        if len(names) != 1 or not names[0].startswith("terraform-provider-aws"):
            return None
        package = ProviderPackage(workdir, names[0], os.open(
            folder / names[0], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC))
    except OSError:
        return None
    try:
        if _file_hash(package.descriptor, package.name) == AWS_PROVIDER_H1:
            return package
    except OSError:
        pass
    package.close()
    return None


@contextlib.contextmanager
def served_provider(package: ProviderPackage | None,
                    env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """env for the Terraform commands run inside: with package served by one process that
    lives as long as the block, or env as it is without a package or when it does not start."""
    served = dict(env)
    if package is None:
        yield served
        return
    try:
        with _running(package, env) as reattach:
            if reattach is not None:
                served[REATTACH_ENV] = reattach
            yield served
    finally:
        package.close()


def several_configurations(shown_plan: Mapping[str, Any]) -> bool:
    """Whether a shown plan (`show -json`) configures the AWS provider more than once (a
    module's own `provider "aws"` block, an alias): one served process cannot keep them
    apart."""
    configurations = shown_plan.get("configuration", {}).get("provider_config", {})
    return sum(1 for config in configurations.values()
               if str(config.get("full_name", "")).endswith("hashicorp/aws")
               or config.get("name") == "aws") > 1


def modules_declare_provider(modules_dir: Path) -> bool:
    """Whether a module file (HCL or JSON) plainly declares a provider configuration of its
    own; one that hides it (a comment between the tokens) is caught by several_configurations
    once the plan is shown."""
    return any(_PROVIDER_BLOCK.search(path.read_text(encoding="utf-8", errors="replace"))
               for path in modules_dir.rglob("*")
               if path.name.endswith((".tf", ".tf.json")) and path.is_file())


def package_hash(folder: Path) -> str:
    """Terraform's `h1:` hash of an unpacked provider package (Go's dirhash.Hash1)."""
    names = sorted(path.relative_to(folder).as_posix()
                   for path in folder.rglob("*") if path.is_file())
    digests = []
    for name in names:
        with (folder / name).open("rb") as handle:
            digests.append((hashlib.file_digest(handle, "sha256").hexdigest(), name))
    return _h1(digests)


def _file_hash(descriptor: int, name: str) -> str | None:
    """The `h1:` hash of a package whose one file, name, is open on descriptor; None if it
    is not a regular file."""
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        return None
    with os.fdopen(descriptor, "rb", closefd=False) as handle:
        handle.seek(0)
        return _h1([(hashlib.file_digest(handle, "sha256").hexdigest(), name)])


def _h1(digests: list[tuple[str, str]]) -> str:
    """Go's dirhash.Hash1 of (sha256 hex, relative path) pairs sorted by path: the sha256 of
    their lines "<hex>  <path>\n", in base64."""
    lines = "".join(f"{digest}  {name}\n" for digest, name in digests).encode()
    return "h1:" + base64.b64encode(hashlib.sha256(lines).digest()).decode()


def _wanted(env: Mapping[str, str]) -> bool:
    """Not when switched off, nor where the caller attaches providers of its own, nor when
    Terraform is asked to log (it logs only the providers it starts itself)."""
    return env.get(SWITCH_ENV, "on") != "off" and not any(
        env.get(name) for name in (REATTACH_ENV, "TF_LOG", "TF_LOG_PROVIDER"))


def _platform() -> str:
    machine = platform.machine().lower()
    return f"{sys.platform}_{_ARCHES.get(machine, machine)}"


@contextlib.contextmanager
def _running(package: ProviderPackage, env: Mapping[str, str]) -> Iterator[str | None]:
    """The provider running in debug mode; its reattach value, or None if it did not give
    one in time (it is stopped then)."""
    folder = Path(tempfile.mkdtemp(prefix="loono-provider-"))  # 0700: only this user connects
    process: subprocess.Popen[bytes] | None = None
    try:
        with contextlib.suppress(OSError):
            process = _launched(package, folder, env)
        reattach = None if process is None else _reattach_value(process, folder)
        if reattach is None:
            _stop(process)
        yield reattach
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.returncode is None:
        process.kill()
        process.wait()


def _launched(package: ProviderPackage, folder: Path,
              env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """The launcher, become the provider run from package's descriptor."""
    command = [sys.executable, "-S", "-I", _provider_launcher.__file__, str(os.getpid()),
               f"/proc/self/fd/{package.descriptor}", package.name, "-debug"]
    provider_env = {k: v for k, v in env.items() if k not in _SOCKET_PLACES}
    return subprocess.Popen(command, cwd=package.workdir,
                            env={**provider_env, "TMPDIR": str(folder)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            pass_fds=(package.descriptor,))


def _reattach_value(process: subprocess.Popen[bytes], folder: Path) -> str | None:
    """The TF_REATTACH_PROVIDERS value the provider printed, checked to name this provider,
    this process and a socket in folder; the rest of what it prints is read and dropped."""
    assert process.stdout is not None
    line = _line_with_reattach(process.stdout, time.monotonic() + _START_SECONDS)
    if line is None:
        return None
    threading.Thread(target=process.stdout.read, daemon=True).start()
    try:
        attached = json.loads(line)[AWS_PROVIDER_ADDRESS]
        address = attached["Addr"]
        in_folder = (address["Network"] == "unix"
                     and Path(address["String"]).parent == folder)
    except (ValueError, KeyError, TypeError):
        return None
    if not in_folder or attached.get("Pid") != process.pid:
        return None
    return json.dumps({AWS_PROVIDER_ADDRESS: attached})


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
