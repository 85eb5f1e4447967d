"""Starts a Terraform provider that dies with the process that started it.

``python -S -I _provider_launcher.py PARENT_PID EXECUTABLE ARG...``: asks the kernel to
SIGKILL this process when its parent dies (PR_SET_PDEATHSIG survives exec), then becomes
EXECUTABLE. A provider in debug mode serves until killed; without this, one whose starter was
killed would run on alone. The parent kills it when its step is done.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def become(parent: int, argv: list[str]) -> None:
    """Turns this process into argv[0] argv[1:], killed when parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        raise SystemExit(137)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    become(int(sys.argv[1]), sys.argv[2:])
