"""Starts a Terraform provider that dies with the process that started it.

``python -S -I _provider_launcher.py PARENT_PID EXECUTABLE NAME ARG...``: asks the kernel to
SIGKILL this process when its parent dies (PR_SET_PDEATHSIG survives exec), then becomes
EXECUTABLE (a /proc/self/fd path: the very file its starter hashed) with argv NAME ARG....
A provider in debug mode serves until killed; without this, one whose starter was killed
would run on alone. The starter kills it when its plan is done.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def become(parent: int, executable: str, argv: list[str]) -> None:
    """Turns this process into executable with argv, killed when parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        raise SystemExit(137)
    os.execv(executable, argv)


if __name__ == "__main__":
    become(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
