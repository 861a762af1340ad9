"""A local HTTP recorder standing in for a cloud API: it stores every request and answers with canned JSON."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.harness.tls import self_signed_certificate


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Recorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    # path prefix -> (status, JSON body); the first match answers
    responses: dict[str, tuple[int, Any]] = field(default_factory=dict)


@contextmanager
def recorder(tls_directory: Path | None = None) -> Iterator[Recorder]:
    """Serve on loopback; with ``tls_directory`` over https with a self-signed certificate made there."""
    state = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            form = "application/x-www-form-urlencoded" in (self.headers.get("content-type") or "")
            # Twilio's REST API posts forms (field -> value); the others post JSON.
            body = (dict(parse_qsl(raw.decode())) if form else json.loads(raw)) if raw else None
            state.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            status, payload = next(
                (answer for prefix, answer in state.responses.items() if self.path.startswith(prefix)), (204, None)
            )
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls_directory is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self_signed_certificate(tls_directory))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
