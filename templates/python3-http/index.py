"""HTTP server for the watchdog's http mode (fprocess "python3 index.py").

Standard library only (no Flask, no waitress), so the template runs without
`pip install`. It implements the python3-http handler contract:

    def handle(event, context) -> dict | None

event.body is the raw request body (bytes), event.headers the request headers
(case-insensitive .get), event.method, event.query (dict of first values, with
.getlist(name) for repeated keys) and event.path. context.hostname is $HOSTNAME
or "localhost". The return value is a dict {"statusCode": int (default 200),
"body": str | bytes | dict (a dict is sent as JSON), "headers": dict}; None
gives an empty 200. A handler exception answers 500 and the traceback goes to
stderr. Listens on 127.0.0.1:$http_port (default 5000).
"""

import json
import os
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from function import handler  # noqa: E402


class Query(dict):
    """First value per key, like Flask's request.args; getlist() for all values."""

    def __init__(self, pairs):
        super().__init__()
        self._all = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getlist(self, key):
        return list(self._all.get(key, []))


class Event:
    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def _encode(body):
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return str(body).encode("utf-8")


def format_response(res):
    """Return (status, headers list, body bytes) for a handler's return value."""
    html = "text/html; charset=utf-8"
    if res is None:
        return 200, [("Content-Type", html)], b""
    if isinstance(res, dict):
        status = int(res.get("statusCode", 200))
        headers = res.get("headers") or {}
        header_list = list(headers.items()) if isinstance(headers, dict) else list(headers)
        content_type = html
        body = res.get("body", "")
        if isinstance(body, (dict, list)) and not isinstance(body, str):
            payload = (json.dumps(body) + "\n").encode("utf-8")
            content_type = "application/json"
        else:
            payload = _encode(body)
        if not any(k.lower() == "content-type" for k, _ in header_list):
            header_list.insert(0, ("Content-Type", content_type))
        return status, header_list, payload
    if isinstance(res, tuple):
        body = res[0]
        status = int(res[1]) if len(res) > 1 else 200
        extra = res[2] if len(res) > 2 else {}
        header_list = list(extra.items()) if isinstance(extra, dict) else list(extra)
        if not any(k.lower() == "content-type" for k, _ in header_list):
            header_list.insert(0, ("Content-Type", html))
        return status, header_list, _encode(body)
    return 200, [("Content-Type", html)], _encode(res)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "python3-http"

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # The status line + headers and the body leave in two writes; with
        # Nagle on, the body waits for the ACK of the first, which the
        # watchdog's client delays by ~40 ms: every call took 40+ ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers end with an empty line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, headers, body):
        self.send_response(status)
        for key, value in headers:
            if key.lower() == "content-length":
                continue
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self._send(400, [("Content-Type", "text/plain")], b"bad request body")
            self.close_connection = True
            return
        url = urlsplit(self.path)
        event = Event(
            body=body,
            headers=self.headers,
            method=self.command,
            query=Query(parse_qsl(url.query, keep_blank_values=True)),
            path=url.path or "/",
        )
        try:
            status, headers, payload = format_response(handler.handle(event, Context()))
        except Exception:  # noqa: BLE001 - any handler failure is a 500
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            status, headers, payload = 500, [("Content-Type", "text/html; charset=utf-8")], (
                b"<!doctype html>\n<title>500 Internal Server Error</title>\n"
                b"<h1>Internal Server Error</h1>\n"
            )
        self._send(status, headers, payload)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle

    def do_OPTIONS(self):  # noqa: N802 - stdlib naming
        self._read_body()
        allow = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
        self._send(200, [("Allow", allow), ("Content-Type", "text/html; charset=utf-8")], b"")


def main():
    port = int(os.getenv("http_port") or 5000)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("python3-http listening on port: %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
