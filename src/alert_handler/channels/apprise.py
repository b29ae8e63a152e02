"""The `apprise` channel: the long tail of services (ntfy, Gotify, Pushover, Matrix, Bark, Discord,
...) through the apprise library, one receiver taking a list of apprise URLs.

Title and body come from `templates/<language>/apprise/` (title.txt, body.txt: plain text, which
apprise converts for services that take HTML or markdown); a template set with a `body.md`
sends markdown instead. The body is at most `max_chars` characters (alerts dropped from the
list first); add `?overflow=split` to a URL to have apprise fit a service's own limit.

apprise returns only whether a service took the message; why not is in its log lines: a service
that logged an HTTP 4xx refusal (`error=400`; not 408, 425 or 429) is not retried, any other
failure is (within the pipeline's deadline). Each URL is its own service, and the channel
remembers per notification key which ones took it or refused it for good, so a retry goes only
to the others (within this process). URLs carry tokens: they are secrets, and the apprise and
urllib3 loggers have every part of them replaced with `***` before a record reaches our log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import apprise
from pydantic import ConfigDict, Field, SecretStr, field_validator

from alert_handler.channels import http
from alert_handler.channels.base import Delivery, Message
from alert_handler.channels.fanout import Settled
from alert_handler.channels.templated import Renderer, TemplatedSettings
from alert_handler.domain.severity import Severity, parse_severity
from alert_handler.errors import TemplateError
from alert_handler.templates import Templates

REMEMBERED = 1024  # notification keys whose per-URL outcomes are kept for retries
LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests")
# How apprise's services log an HTTP refusal: "Failed to send ... notification: Bad Request, error=400."
_HTTP_ERROR = re.compile(r"error=(\d{3})\b")
NOTIFY_TYPE = {
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
    Severity.HIGH: apprise.NotifyType.FAILURE,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.INFO: apprise.NotifyType.INFO,
}


def secret_parts(url: str) -> set[str]:
    """What of an apprise URL may be a token: every piece between its delimiters (user, password,
    path segments, query keys and values, and the host unless it looks like a host name, as
    `tgram://<bot token>/...` puts a token there), raw and percent-decoded."""
    try:
        split = urlsplit(url)
        host = split.hostname or ""
    except ValueError:
        split, host = None, ""
    pieces = {url, *re.split(r"[/:@?&=#,;]+", url)}
    if split is not None:
        pieces |= {split.netloc, split.path, split.query}
    pieces |= {unquote(p) for p in pieces}
    pieces.discard(split.scheme if split is not None else "")
    if "." in host or host == "localhost":
        pieces.discard(host)
    return {p for p in pieces if len(p) >= 3}


class _Redact(logging.Filter):
    """Replaces registered secrets in log records of the loggers apprise's services write to."""

    def __init__(self) -> None:
        super().__init__()
        self._owners: dict[int, set[str]] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, owner: object, secrets: set[str]) -> None:
        self._owners[id(owner)] = secrets
        self._compile()

    def remove(self, owner: object) -> None:
        self._owners.pop(id(owner), None)
        self._compile()

    def _compile(self) -> None:
        found = sorted({s for group in self._owners.values() for s in group}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, found))) if found else None

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = self._pattern
        if pattern is None:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: drop it, unread
            return False
        cleaned = pattern.sub("***", text)
        if cleaned != text:
            record.msg, record.args = cleaned, ()
        return True


REDACT = _Redact()


def _install() -> None:
    for name in LOGGERS:
        found = logging.getLogger(name)
        if REDACT not in found.filters:
            found.addFilter(REDACT)


@contextmanager
def _redacting(secrets: set[str]) -> Iterator[None]:
    marker = object()
    _install()
    REDACT.add(marker, secrets)
    try:
        yield
    finally:
        REDACT.remove(marker)


class AppriseSettings(TemplatedSettings):
    TEMPLATE_CHANNEL = "apprise"
    TEMPLATE_FILES = ("title.txt", "body.txt")
    MAX_PER_MINUTE = 20
    model_config = ConfigDict(hide_input_in_errors=True)  # an input in error may be a secret

    urls: list[SecretStr] = Field(min_length=1, description="apprise URLs (ntfy://, gotify://, ...); secret")
    max_chars: int = Field(4000, ge=200, le=100_000, description="at most this many characters of body")
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    @field_validator("urls")
    @classmethod
    def _supported(cls, value: list[SecretStr]) -> list[SecretStr]:
        for index, secret in enumerate(value):
            url = secret.get_secret_value()
            with _redacting(secret_parts(url)):
                found = apprise.Apprise.instantiate(url)
            if found is None:
                scheme = url.partition("://")[0] if "://" in url else ""
                shown = f"scheme {scheme[:20]!r}" if scheme.isalnum() else "no scheme"
                raise ValueError(f"urls[{index}] is not a URL apprise supports ({shown})")
        return value


def _notify_type(message: Message) -> apprise.NotifyType:
    if not message.firing:
        return apprise.NotifyType.SUCCESS
    found = [parse_severity(a.severity) or Severity.WARNING for a in message.firing]
    return NOTIFY_TYPE[max(found, key=lambda s: s.rank)]


class AppriseChannel:
    name = "apprise"
    Settings = AppriseSettings

    def __init__(self, settings: AppriseSettings, templates: Templates | None = None) -> None:
        self.settings = settings
        self._renderer = Renderer(settings, templates)
        urls = [u.get_secret_value() for u in settings.urls]
        _install()
        REDACT.add(self, set().union(*(secret_parts(u) for u in urls)))
        asset = apprise.AppriseAsset(async_mode=True, storage_mode="memory")
        self._services: list[apprise.Apprise] = []
        for url in urls:
            service = apprise.Apprise(asset=asset)
            service.add(url)
            self._services.append(service)
        self._schemes = [urlsplit(u).scheme or "?" for u in urls]
        self._settled: Settled[int] = Settled(REMEMBERED)  # by URL index

    def _body_file(self) -> str:
        try:
            found = self._renderer.templates.find(
                "apprise", "body.md", template_set=self.settings.template, language=self._renderer.language
            )
        except TemplateError:
            return "body.txt"
        return found.rpartition("/")[2]

    def texts(self, message: Message) -> tuple[str, str, apprise.NotifyFormat]:
        """Title, body and the body's format; raises TemplateError."""
        body_file = self._body_file()
        shown = len(message.alerts)
        title = " ".join(self._renderer.file("title.txt", self._renderer.context(message, max_alerts=1)).split())
        while True:
            body = self._renderer.file(body_file, self._renderer.context(message, max_alerts=shown)).strip()
            if len(body) <= self.settings.max_chars or shown == 0:
                break
            shown = min(shown - 1, shown * self.settings.max_chars // len(body))
        fmt = apprise.NotifyFormat.MARKDOWN if body_file == "body.md" else apprise.NotifyFormat.TEXT
        return http.cut_chars(title, 250), http.cut_chars(body, self.settings.max_chars), fmt

    def preview(self, message: Message) -> dict[str, str]:
        title, body, fmt = self.texts(message)
        return {"title": title, "body": body, "format": fmt.value}

    async def send(self, message: Message) -> Delivery:
        try:
            title, body, fmt = self.texts(message)
        except TemplateError as exc:
            return Delivery.failed(f"template: {exc}", retry=False)
        pending = self._settled.pending(message.key, range(len(self._services)))
        kind = _notify_type(message)
        results = await asyncio.gather(*(self._notify(i, title, body, fmt, kind) for i in pending))
        temporary: list[tuple[int, Delivery]] = []
        for index, result in zip(pending, results, strict=True):
            if result.ok or not result.retry:
                self._settled.settle(message.key, index, result.error)
            else:
                temporary.append((index, result))
        permanent = sorted(self._settled.refusals(message.key))
        if not temporary and not permanent:
            return Delivery.sent()
        failures = [f"#{i + 1} {self._schemes[i]}: {d.error}" for i, d in temporary]
        failures += [f"#{i + 1} {self._schemes[i]}: {e}" for i, e in permanent]
        error = f"apprise: {len(failures)} of {len(self._services)} URLs failed: " + "; ".join(failures[:10])
        return Delivery.failed(error, retry=bool(temporary))

    async def _notify(
        self, index: int, title: str, body: str, fmt: apprise.NotifyFormat, kind: apprise.NotifyType
    ) -> Delivery:
        call = self._services[index].async_notify(body=body, title=title, body_format=fmt, notify_type=kind)
        try:
            with await asyncio.wait_for(call, self.settings.timeout_seconds) as result:
                if result:
                    return Delivery.sent()
                codes = {int(m[1]) for entry in result.logs() for m in _HTTP_ERROR.finditer(entry.message)}
        except TimeoutError:
            return Delivery.failed("timed out", retry=True)
        if codes and all(400 <= c < 500 and c not in (408, 425, 429) for c in codes):
            return Delivery.failed(f"refused (HTTP {', '.join(map(str, sorted(codes)))})", retry=False)
        # apprise reports no reason beyond its log: a server error, a dropped connection, or a
        # service that fails in its own way; a retry may help.
        shown = f" (HTTP {', '.join(map(str, sorted(codes)))})" if codes else ""
        return Delivery.failed(f"failed{shown}", retry=True)

    async def close(self) -> None:
        REDACT.remove(self)
