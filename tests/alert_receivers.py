"""Real local receivers for alert tests: an SMTP listener (aiosmtpd) and a JSON webhook receiver.

Both run on loopback ports chosen by the OS and record what they receive, so tests assert on what
on-call would really get — message by message.
"""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpListener:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = free_port()
        listener = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                message = message_from_bytes(envelope.content, policy=default_policy)
                listener.messages.append(
                    {"to": list(envelope.rcpt_tos), "subject": str(message["subject"]), "body": message.get_body().get_content()}
                )
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpListener:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def connection_json(self, to: list[str]) -> str:
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {"to": to, "from_email": "oks@example.com", "disable_tls": True, "disable_ssl": True, "retry_limit": 0},
            }
        )


class WebhookReceiver:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.requests: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.requests.append({"path": self.path, "json": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def connection_json(self, endpoint: str = "/hooks/oks") -> str:
        return json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": self.port, "schema": "http", "extra": {"endpoint": endpoint}}
        )
