"""The sandbox's load balancers: one HTTP proxy per ALB on 127.0.0.1, forwarding to healthy targets.

The ALB's DNS name the sandbox reports is the proxy's ``127.0.0.1:<port>``, so a client that
calls ``http://<DNSName>/health`` reaches the service as it would through a real ALB.
"""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade"}


class Balancers:
    """Every proxy of the sandbox and the healthy targets each one forwards to."""

    def __init__(self) -> None:
        self._targets: dict[str, list[tuple[str, int]]] = {}
        self._servers: list[ThreadingHTTPServer] = []
        self._turn = itertools.count()

    def open(self, load_balancer_arn: str) -> str:
        """Starts the proxy of a new ALB; returns its address (the ALB's DNS name)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self, load_balancer_arn))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=f"alb {load_balancer_arn[-16:]}",
                         daemon=True).start()
        self._servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    def set_targets(self, load_balancer_arn: str, targets: list[tuple[str, int]]) -> None:
        self._targets[load_balancer_arn] = list(targets)

    def pick(self, load_balancer_arn: str) -> tuple[str, int] | None:
        targets = self._targets.get(load_balancer_arn) or []
        return targets[next(self._turn) % len(targets)] if targets else None

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


class _Forward(BaseHTTPRequestHandler):
    """Forwards GET and HEAD to one healthy target of its ALB, 503 when there is none."""

    balancers: Balancers
    load_balancer_arn: str

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def log_message(self, format: str, *args: object) -> None:
        return

    def _forward(self) -> None:
        target = self.balancers.pick(self.load_balancer_arn)
        if target is None:
            self._answer(503, [], b"503 Service Temporarily Unavailable (no healthy targets)")
            return
        try:
            status, headers, body = _fetch(target, self.command, self.path)
        except OSError:
            self._answer(502, [], b"502 Bad Gateway")
            return
        kept = [(n, v) for n, v in headers if n.lower() not in _HOP_HEADERS | {"content-length"}]
        self._answer(status, kept, body)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _handler_for(balancers: Balancers, load_balancer_arn: str) -> type[BaseHTTPRequestHandler]:
    return type("Forward", (_Forward,), {"balancers": balancers,
                                         "load_balancer_arn": load_balancer_arn})


def _fetch(target: tuple[str, int], method: str,
           path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(target[0], target[1], timeout=10)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read()
    finally:
        connection.close()
