"""The sandbox process: moto's server on 127.0.0.1 with loono-infra's fidelity fixes.

Run as ``python -m loono_infra.sandbox.server.main --state-file F [--port 0] [--ttl S]``.
It writes F (pid, url) once it serves, removes it when it stops, and stops by
itself after --ttl seconds, on SIGTERM and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

LOG = logging.getLogger("loono_infra.sandbox")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loono_infra.sandbox.server.main")
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttl", type=float, default=4 * 3600.0)
    return parser.parse_args(argv)


def _write_state(path: Path, url: str, registry: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    state = {"pid": os.getpid(), "url": url, "started_at": time.time(), "registry": registry}
    partial.write_text(json.dumps(state), encoding="utf-8")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    """Serves until the TTL passes or a signal arrives."""
    args = _parse_args(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: every thread's stack
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from loono_infra.sandbox.server.fidelity import apply_fidelity_fixes
    from loono_infra.sandbox.tls import issue_certificates, loopback_pool, tls_files

    apply_fidelity_fixes()
    addresses = loopback_pool()
    issue_certificates(tls_files(args.state_file.parent), addresses)
    images = ImageSide.start(args.state_file.parent, addresses)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _write_state(args.state_file, f"http://{host}:{port}", images.registry_address)
    try:
        _wait_for_stop(stop, args.ttl)
    finally:
        images.stop()
        server.stop()
        if _owned_by_me(args.state_file):
            args.state_file.unlink(missing_ok=True)
    return 0


def _wait_for_stop(stop: threading.Event, ttl: float) -> None:
    """Waits in short steps: a signal that lands on another thread is then seen within 0.2 s."""
    deadline = time.monotonic() + ttl
    while not stop.wait(timeout=0.2) and time.monotonic() < deadline:
        pass


class ImageSide:
    """The registry, the load balancers, the ECS agent and the databases: what runs the
    service's images and answers at its database's endpoint.

    Without Docker or docker-registry the sandbox still serves every AWS API; deploys then
    fail with the reason logged here.
    """

    def __init__(self, directory: Path, addresses: list[str]) -> None:
        self.directory = directory
        self.addresses = addresses
        self.registry_address: str | None = None
        self._agent: Any = None
        self._balancers: Any = None
        self._alarms: Any = None

    @classmethod
    def start(cls, directory: Path, addresses: list[str]) -> ImageSide:
        side = cls(directory, addresses)
        try:
            side._start()
        except Exception as error:
            LOG.warning("sandbox runs no images: %s", error)
        return side

    def _start(self) -> None:
        import docker

        from loono_infra.sandbox.server.agent import EcsAgent
        from loono_infra.sandbox.server.alarms import TargetHealthAlarms
        from loono_infra.sandbox.server.balancer import Balancers
        from loono_infra.sandbox.server.containers import ContainerRunner
        from loono_infra.sandbox.server.databases import DatabaseServers
        from loono_infra.sandbox.server.logship import LogShipper
        from loono_infra.sandbox.server.registry import start_registry
        from loono_infra.sandbox.server.wiring import (
            SANDBOX_REGISTRY_PASSWORD,
            ecr_lives_in_registry,
            load_balancers_are_local_proxies,
            rds_instances_run_postgres,
        )
        from loono_infra.sandbox.tls import tls_files

        self._balancers = Balancers(self.addresses, tls_files(self.directory).directory)
        load_balancers_are_local_proxies(self._balancers)
        self._alarms = TargetHealthAlarms(self._balancers.counts)
        self._alarms.start()
        registry = start_registry(self.directory / "registry", SANDBOX_REGISTRY_PASSWORD)
        self.registry_address = registry.address
        ecr_lives_in_registry(registry)
        engine = docker.from_env()
        runner = ContainerRunner(engine, registry, str(self.directory.resolve()))
        self._agent = EcsAgent(runner, self._balancers, logs=LogShipper(engine))
        self._agent.start()
        rds_instances_run_postgres(DatabaseServers(engine, runner.network(),
                                                   self.directory / "databases", runner.labels))

    def stop(self) -> None:
        from loono_infra.sandbox.server.registry import stop_registry

        stop_registry(self.directory / "registry")
        if self._alarms is not None:
            self._alarms.stop()
        if self._balancers is not None:
            self._balancers.close()
        if self._agent is not None:
            self._agent.stop()


def _owned_by_me(state_file: Path) -> bool:
    try:
        return bool(json.loads(state_file.read_text(encoding="utf-8"))["pid"] == os.getpid())
    except (OSError, ValueError, KeyError):
        return False


if __name__ == "__main__":
    raise SystemExit(main())
