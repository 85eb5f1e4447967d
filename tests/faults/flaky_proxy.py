"""An HTTP proxy in front of the sandbox that answers a share of calls with throttling or 5xx,
as AWS does under load (429 / 503 SlowDown / 500 InternalError), for a while."""

from __future__ import annotations

import http.client
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# Status codes only: each AWS protocol words its error body differently (JSON, XML), and an
# overloaded front end often sends none; SDKs retry on the status.
FAULTS = ((429, b""), (503, b""), (500, b""))
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
              "trailer", "upgrade"}


class FlakyProxy:
    """Forwards to upstream; while enabled, answers `share` of the calls with a fault."""

    def __init__(self, upstream: str, share: float, seed: int = 7) -> None:
        self.upstream = urlparse(upstream)
        self.share = share
        self.enabled = True
        self.calls = 0
        self.faults = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FlakyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fault(self) -> tuple[int, bytes] | None:
        with self._lock:
            self.calls += 1
            if self.enabled and self._random.random() < self.share:
                self.faults += 1
                return self._random.choice(FAULTS)
        return None


class _Relay(BaseHTTPRequestHandler):
    """Forwards one request to the proxy's upstream, or answers it with a fault."""

    protocol_version = "HTTP/1.1"
    proxy: FlakyProxy

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def _relay(self) -> None:
        body = self._body()
        fault = self.proxy.fault()
        if fault is not None:
            self._answer(fault[0], [("Content-Type", "application/json")], fault[1])
            return
        status, headers, data = self._forward(body)
        self._answer(status, headers, data)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.proxy.upstream.hostname or "127.0.0.1",
                                              self.proxy.upstream.port or 80, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        kept = [(k, v) for k, v in answer.getheaders()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        upstream.close()
        return answer.status, kept, data

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks = []
        while size := int(self.rfile.readline().strip().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _handler(proxy: FlakyProxy) -> type[BaseHTTPRequestHandler]:
    return type("Relay", (_Relay,), {"proxy": proxy})
