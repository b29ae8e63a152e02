"""Real SMTP servers on loopback for the email channel's tests (aiosmtpd in its own thread):
plain, STARTTLS or implicit TLS with a throwaway CA (trustme), optional auth, scripted
answers; plus a server that drops the connection and one that never greets."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port

USER, PASSWORD = "alerts", "pa55-w0rd-s3cret"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes

    @property
    def mail(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.content, policy=policy.default))

    def part(self, subtype: str) -> str:
        found = self.mail.get_body(preferencelist=(subtype,))
        assert found is not None and found.get_content_subtype() == subtype, f"no text/{subtype} part"
        return cast(str, found.get_content())


@dataclass
class Mailbox:
    host: str
    port: int
    ca_file: str = ""
    received: list[Received] = field(default_factory=list)
    # SMTP answers to DATA, in order ("451 4.3.0 try later"); then 250.
    answers: list[str] = field(default_factory=list)
    delay: float = 0.0
    logins: list[str] = field(default_factory=list)

    @property
    def smarthost(self) -> str:
        return f"{self.host}:{self.port}"


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.delay:
            await asyncio.sleep(self.box.delay)
        if self.box.answers:
            return self.box.answers.pop(0)
        self.box.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 OK"


@dataclass
class TLSFiles:
    ca_file: str
    server_context: ssl.SSLContext


def tls_files(directory: Path) -> TLSFiles:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return TLSFiles(str(path), context)


@contextmanager
def smtp_server(
    *, security: str = "none", tls: TLSFiles | None = None, auth: bool = False, delay: float = 0.0
) -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port(), ca_file=tls.ca_file if tls else "", delay=delay)

    def authenticator(_server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        if isinstance(data, LoginPassword):
            box.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    kwargs: dict[str, Any] = {}
    if security == "tls":
        assert tls is not None
        kwargs["ssl_context"] = tls.server_context
    elif security == "starttls":
        assert tls is not None
        kwargs.update(tls_context=tls.server_context, require_starttls=True)
    if auth:
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller = Controller(_Handler(box), hostname=box.host, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@contextmanager
def dropping_server(after_commands: int = 1) -> Iterator[str]:
    """Greets, answers `after_commands` commands with 250, then closes the connection without a
    word: a server that goes away mid-conversation (0: right after its greeting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            with conn, conn.makefile("rb") as reader:
                try:
                    conn.sendall(b"220 smtp.test ESMTP\r\n")
                    for _ in range(after_commands):
                        if not reader.readline():
                            break
                        conn.sendall(b"250 smtp.test\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel does) and never says a word: a client must time out."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
