"""The `email` channel: SMTP (aiosmtplib) with STARTTLS, implicit TLS or plain, optional auth,
a multipart/alternative message (text, then HTML) to one or more recipients.

Subject and bodies come from templates (`templates/<language>/email/`: subject.txt, body.txt,
body.html) or, for the subject, from the receiver's inline `subject` template. Alert text is
escaped for HTML; the subject is one line, cut to 250 characters.

Which failures a retry can help, as SMTP says: authentication refused (535) no; any other 5xx
no (the server refuses this mail); 4xx yes (try later); timeouts, refused or dropped
connections yes. No error text carries the password.
"""

from __future__ import annotations

import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Literal

import aiosmtplib
from loguru import logger
from pydantic import Field, SecretStr, field_validator, model_validator

from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.templated import Renderer, TemplatedSettings, check_inline
from alert_handler.errors import TemplateError
from alert_handler.settings import Settings as AppSettings
from alert_handler.templates import Templates

PORTS = {"starttls": 587, "tls": 465, "none": 25}
SUBJECT_MAX = 250
_SPACE = re.compile(r"\s+")


def _address(value: str) -> str:
    _name, address = parseaddr(value)
    if "\n" in value or "\r" in value or "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ValueError(f"{value!r} is not an email address")
    return value.strip()


class EmailSettings(TemplatedSettings):
    TEMPLATE_CHANNEL = "email"
    TEMPLATE_FILES = ("subject.txt", "body.txt", "body.html")
    MAX_PER_MINUTE = 30  # a mass outage arrives as a digest, not a hundred mails

    to: list[str] = Field(min_length=1, description="recipients")
    sender: str = Field(alias="from", description="the From address")
    smarthost: str = Field("", description="host:port of the SMTP server (or set host and port)")
    host: str = ""
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: SecretStr = SecretStr("")
    ca_file: str | None = Field(None, description="CA certificates (PEM) to trust instead of the system's")
    tls_verify: bool = True
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    max_alerts: int = Field(100, ge=0, description="at most this many alerts listed per mail; 0: all")
    subject: str | None = Field(None, description="an inline template for the subject (plain text)")

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("subject")
    @classmethod
    def _subject_compiles(cls, value: str | None) -> str | None:
        return check_inline(value, "plain")

    @model_validator(mode="after")
    def _server(self) -> EmailSettings:
        if not (self.smarthost or self.host):
            raise ValueError("set smarthost (host:port) or host")
        if self.smarthost:
            host, _, port = self.smarthost.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"smarthost {self.smarthost!r} is not host:port")
        return self

    @property
    def server(self) -> tuple[str, int]:
        if self.smarthost:
            host, _, port = self.smarthost.rpartition(":")
            return host.strip("[]"), int(port)
        return self.host, self.port or PORTS[self.security]


def one_line(text: str) -> str:
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


class EmailChannel:
    name = "email"
    Settings = EmailSettings

    def __init__(self, settings: EmailSettings, templates: Templates | None = None) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)

    def preview(self, message: Message) -> dict[str, str]:
        """Subject and bodies as they would be sent; raises TemplateError."""
        context = self._renderer.context(message, max_alerts=self.settings.max_alerts or None)
        if self.settings.subject is not None:
            subject = self._renderer.inline(self.settings.subject, "plain", context)
        else:
            subject = self._renderer.file("subject.txt", context)
        return {
            "subject": one_line(subject),
            "text": self._renderer.file("body.txt", context),
            "html": self._renderer.file("body.html", context),
        }

    def compose(self, message: Message) -> EmailMessage:
        parts = self.preview(message)
        mail = EmailMessage()
        mail["Subject"] = parts["subject"]
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(self.settings.to)
        mail["Date"] = formatdate(usegmt=True)
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2] or None
        mail["Message-ID"] = make_msgid("alert-handler", domain=domain)
        mail["X-Alert-Handler-Notification"] = message.key
        first = message.thread.get("message_id")
        if first:  # mail clients show the group's messages as one conversation
            mail["In-Reply-To"] = first
            mail["References"] = first
        mail.set_content(parts["text"])
        mail.add_alternative(parts["html"], subtype="html")
        return mail

    async def send(self, message: Message) -> Delivery:
        try:
            mail = self.compose(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        host, port = self.settings.server
        password = self.settings.password.get_secret_value()
        try:
            await aiosmtplib.send(
                mail,
                hostname=host,
                port=port,
                username=self.settings.username or None,
                password=password if self.settings.username else None,
                use_tls=self.settings.security == "tls",
                start_tls=self.settings.security == "starttls",
                validate_certs=self.settings.tls_verify,
                cert_bundle=self.settings.ca_file,
                timeout=self.settings.timeout_seconds,
            )
        except Exception as exc:
            return self._failure(exc)
        return Delivery.sent({"message_id": str(mail["Message-ID"])})

    def _failure(self, exc: Exception) -> Delivery:
        return _classify(exc).without(self.settings.password.get_secret_value())

    async def close(self) -> None:
        return None

    @staticmethod
    def from_env(settings: AppSettings) -> dict[str, Any] | None:
        """The `email` receiver of SMTP_SERVER, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME,
        SMTP_PASSWORD, SMTP_FROM and SMTP_TO; None (and a warning) without a server or recipients."""
        if not settings.smtp_server:
            return None
        if not settings.smtp_to:
            logger.warning("SMTP_SERVER is set but SMTP_TO is not: no `email` receiver is made from the environment")
            return None
        return {
            "to": list(settings.smtp_to),
            "from": settings.smtp_from or settings.smtp_username or f"alert-handler@{settings.smtp_server}",
            "host": settings.smtp_server,
            "port": settings.smtp_port,
            "security": settings.smtp_security,
            "username": settings.smtp_username,
            "password": settings.smtp_password.get_secret_value(),
        }


def _classify(exc: Exception) -> Delivery:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Delivery.failed(f"SMTP authentication failed ({exc.code})", retry=400 <= exc.code < 500)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = sorted({r.code for r in exc.recipients})
        text = "; ".join(f"{r.recipient}: {r.code} {r.message[:100]}" for r in exc.recipients[:5])
        return Delivery.failed(f"SMTP refused every recipient: {text}", retry=any(400 <= c < 500 for c in codes))
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
        return Delivery.failed(f"SMTP {exc.code}: {exc.message[:200]}", retry=exc.code < 500)
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return Delivery.failed("timed out", retry=True)
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(exc.__cause__, ssl.SSLCertVerificationError):
        return Delivery.failed("TLS certificate not trusted (set ca_file, or tls_verify: false)", retry=False)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return Delivery.failed("SMTP server closed the connection", retry=True)
    if isinstance(exc, OSError):
        return Delivery.failed(f"connection failed ({type(exc).__name__})", retry=True)
    if isinstance(exc, aiosmtplib.SMTPException):
        # The client's own refusals: no STARTTLS on the server, no auth method in common.
        return Delivery.failed(f"SMTP: {str(exc)[:200]}", retry=False)
    return Delivery.failed(f"email error ({type(exc).__name__})", retry=True)
