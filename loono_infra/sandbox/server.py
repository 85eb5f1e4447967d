"""The sandbox process: moto's server on 127.0.0.1 with loono-infra's fidelity fixes.

Run as ``python -m loono_infra.sandbox.server --state-file F [--port 0] [--ttl S]``.
It writes F (pid, url) once it serves, removes it when it stops, and stops by
itself after --ttl seconds, on SIGTERM and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loono_infra.sandbox.server")
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttl", type=float, default=4 * 3600.0)
    return parser.parse_args(argv)


def _write_state(path: Path, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    state = {"pid": os.getpid(), "url": url, "started_at": time.time()}
    partial.write_text(json.dumps(state), encoding="utf-8")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    """Serves until the TTL passes or a signal arrives."""
    args = _parse_args(argv)
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from loono_infra.sandbox.fidelity import apply_fidelity_fixes

    apply_fidelity_fixes()
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _write_state(args.state_file, f"http://{host}:{port}")
    try:
        stop.wait(timeout=args.ttl)
    finally:
        server.stop()
        if _owned_by_me(args.state_file):
            args.state_file.unlink(missing_ok=True)
    return 0


def _owned_by_me(state_file: Path) -> bool:
    try:
        return bool(json.loads(state_file.read_text(encoding="utf-8"))["pid"] == os.getpid())
    except (OSError, ValueError, KeyError):
        return False


if __name__ == "__main__":
    raise SystemExit(main())
