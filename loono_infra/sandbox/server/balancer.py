"""The sandbox's load balancers: one loopback address per ALB, one server per listener.

An ALB's DNS name is its own loopback address (sandbox/tls.py); each listener binds the port
it declares there and reads its current configuration from the sandbox's ELBv2 on every
connection, so a listener changed by Terraform (forward -> redirect, a new certificate) acts
changed at once. HTTPS listeners terminate TLS with the listener's ACM certificate and the
minimum version of its security policy; `forward` goes to a healthy target (503 when there is
none), `redirect` answers as ALB does (HTTP_301 / HTTP_302 with the built Location).
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import os
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from loono_infra.sandbox.tls import minimum_tls_version

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade"}
_DEFAULT_PORTS = {"HTTP": "80", "HTTPS": "443"}


@dataclass(frozen=True)
class ListenerView:
    """What a listener is now: protocol, TLS material, and its default action."""

    protocol: str
    ssl_policy: str | None = None
    certificate: bytes | None = None
    key: bytes | None = None
    redirect: dict[str, Any] | None = None  # RedirectConfig of a redirect action
    forwards_to: str | None = None  # the target group ARN of a forward action


ListenerLookup = Callable[[], ListenerView | None]


@dataclass
class _Balancer:
    address: str
    listeners: dict[int, ThreadingHTTPServer] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetCounts:
    """Healthy and unhealthy targets of one target group at one moment."""

    healthy: int
    unhealthy: int

    def metric(self, name: str) -> int:
        return self.healthy if name == "HealthyHostCount" else self.unhealthy


class Balancers:
    """Every ALB of the sandbox (its address, its listeners) and the healthy targets of every
    target group, as a listener's forward action finds them."""

    def __init__(self, addresses: list[str], tls_directory: Path) -> None:
        self._free = list(addresses)
        self._tls_directory = tls_directory
        self._balancers: dict[str, _Balancer] = {}
        self._targets: dict[str, list[tuple[str, int]]] = {}
        self._unhealthy: dict[str, int] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def open(self, load_balancer_arn: str) -> str:
        """Takes an address for a new ALB; returns it (the ALB's DNS name)."""
        with self._lock:
            if not self._free:
                raise RuntimeError("the sandbox has no loopback address left for a load balancer")
            address = self._free.pop(0)
            self._balancers[load_balancer_arn] = _Balancer(address)
        return address

    def open_listener(self, load_balancer_arn: str, port: int, lookup: ListenerLookup) -> None:
        """Binds the listener's port on its ALB's address."""
        balancer = self._balancers[load_balancer_arn]
        server = _ListenerServer((balancer.address, port), self, load_balancer_arn, lookup)
        threading.Thread(target=server.serve_forever, daemon=True,
                         name=f"alb {balancer.address}:{port}").start()
        balancer.listeners[port] = server

    def close_listener(self, load_balancer_arn: str, port: int) -> None:
        balancer = self._balancers.get(load_balancer_arn)
        server = balancer.listeners.pop(port, None) if balancer else None
        if server is not None:
            server.shutdown()
            server.server_close()

    def close_balancer(self, load_balancer_arn: str) -> None:
        for port in list(getattr(self._balancers.get(load_balancer_arn), "listeners", {})):
            self.close_listener(load_balancer_arn, port)
        with self._lock:
            balancer = self._balancers.pop(load_balancer_arn, None)
            if balancer is not None:
                self._free.append(balancer.address)

    def set_targets(self, target_group_arn: str, targets: list[tuple[str, int]],
                    unhealthy: int = 0) -> None:
        """The healthy targets of a target group (registered by the ECS agent) and how many
        registered targets are not (yet) healthy."""
        with self._lock:
            self._targets[target_group_arn] = list(targets)
            self._unhealthy[target_group_arn] = unhealthy

    def counts(self, target_group_arn: str) -> TargetCounts:
        """Healthy and unhealthy targets, as CloudWatch's target group metrics count them."""
        with self._lock:
            return TargetCounts(len(self._targets.get(target_group_arn, [])),
                                self._unhealthy.get(target_group_arn, 0))

    def pick(self, target_group_arn: str) -> tuple[str, int] | None:
        with self._lock:
            targets = list(self._targets.get(target_group_arn, []))
        return targets[next(self._turn) % len(targets)] if targets else None

    def tls_context(self, view: ListenerView) -> ssl.SSLContext:
        """A server context for the listener's certificate and security policy (cached)."""
        if not view.certificate or not view.key:
            raise ssl.SSLError("the HTTPS listener has no certificate")
        material = view.certificate + b"\n" + view.key
        name = hashlib.sha256(material + (view.ssl_policy or "").encode()).hexdigest()[:16]
        with self._lock:
            if name not in self._contexts:
                self._contexts[name] = self._new_context(name, material, view.ssl_policy)
            return self._contexts[name]

    def _new_context(self, name: str, material: bytes, ssl_policy: str | None) -> ssl.SSLContext:
        self._tls_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        chain = self._tls_directory / f"listener-{name}.pem"
        descriptor = os.open(chain, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(material)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = getattr(ssl.TLSVersion, minimum_tls_version(ssl_policy))
        context.load_cert_chain(str(chain))
        return context

    def close(self) -> None:
        for arn in list(self._balancers):
            self.close_balancer(arn)


class _ListenerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], balancers: Balancers, load_balancer_arn: str,
                 lookup: ListenerLookup) -> None:
        self.balancers = balancers
        self.load_balancer_arn = load_balancer_arn
        self.lookup = lookup
        super().__init__(address, _Listener)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, peer = self.socket.accept()
        view = self.lookup()
        if view is not None and view.protocol == "HTTPS":
            context = self.balancers.tls_context(view)
            connection = context.wrap_socket(connection, server_side=True,
                                             do_handshake_on_connect=False)
        return connection, peer

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a failed handshake or a client gone mid-answer: ALB drops it, so do we


class _Listener(BaseHTTPRequestHandler):
    """Answers one request as the listener's default action says."""

    server: _ListenerServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        self._act()

    def do_HEAD(self) -> None:
        self._act()

    def log_message(self, format: str, *args: object) -> None:
        return

    def _act(self) -> None:
        view = self.server.lookup()
        if view is None:
            self._answer(503, [], b"503 Service Temporarily Unavailable (no listener)")
        elif view.redirect is not None:
            self._redirect(view.redirect, view.protocol)
        elif view.forwards_to is not None:
            self._forward(view.forwards_to)
        else:
            self._answer(503, [], b"503 Service Temporarily Unavailable (no action)")

    def _redirect(self, config: dict[str, Any], protocol: str) -> None:
        location = redirect_location(config, protocol, self.headers.get("Host", ""),
                                     self.server.server_address[1], self.path)
        status = 302 if config.get("StatusCode") == "HTTP_302" else 301
        self._answer(status, [("Location", location)], b"")

    def _forward(self, target_group_arn: str) -> None:
        target = self.server.balancers.pick(target_group_arn)
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


def redirect_location(config: dict[str, Any], protocol: str, host_header: str, port: int,
                      request_path: str) -> str:
    """The Location of an ALB redirect: #{protocol}, #{host}, #{port}, #{path}, #{query}."""
    path, _, query = request_path.partition("?")
    values = {"#{protocol}": protocol, "#{host}": host_header.rsplit(":", 1)[0]
              if host_header.count(":") == 1 else host_header,
              "#{port}": str(port), "#{path}": path.lstrip("/"), "#{query}": query}

    def resolve(key: str, default: str) -> str:
        text = str(config.get(key) or default)
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    scheme = resolve("Protocol", "#{protocol}").upper()
    target_port = resolve("Port", "#{port}")
    shown_port = "" if _DEFAULT_PORTS.get(scheme) == target_port else f":{target_port}"
    target_query = resolve("Query", "#{query}")
    return (f"{scheme.lower()}://{resolve('Host', '#{host}')}{shown_port}"
            f"{resolve('Path', '/#{path}')}{'?' + target_query if target_query else ''}")


def _fetch(target: tuple[str, int], method: str,
           path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(target[0], target[1], timeout=10)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read()
    finally:
        connection.close()
