"""The email channel against real SMTP servers (aiosmtpd): plain, STARTTLS and implicit TLS,
auth accepted and refused, a dropped connection, several recipients, the parts of the mail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alert_handler.channels.email import EmailChannel, EmailSettings
from alert_handler.channels.registry import build, check_settings
from alert_handler.templates import Templates
from tests.channels.factory import HOSTILE_TITLE, message
from tests.conftest import free_port
from tests.smtp_server import PASSWORD, USER, Mailbox, TLSFiles, dropping_server, smtp_server, tls_files


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with smtp_server() as made:
        yield made


def channel(smarthost: str, **settings: Any) -> EmailChannel:
    values: dict[str, Any] = {"to": ["oncall@example.org"], "from": "alerts@example.org", "smarthost": smarthost}
    values.setdefault("security", "none")
    values.update(settings)
    return EmailChannel(EmailSettings.model_validate(values))


async def test_plain_smtp_sends_text_and_html_alternatives(box: Mailbox) -> None:
    assert (await channel(box.smarthost).send(message())).ok
    [mail] = box.received
    assert mail.sender == "alerts@example.org" and mail.recipients == ["oncall@example.org"]
    parsed = mail.mail
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Subject"] == "[FIRING:2] alertname=DiskFull"
    assert parsed["X-Alert-Handler-Notification"] == "group:7:first"
    assert parsed["Message-ID"].endswith("@example.org>")
    assert "Disk 1 full" in mail.part("plain") and "Disk 1 full" in mail.part("html")
    assert "[RESOLVED] CRITICAL: Disk 100 full" in mail.part("plain")
    assert "http://alerts.example/api/v1/alerts/1" in mail.part("html")


async def test_several_recipients_get_one_mail(box: Mailbox) -> None:
    to = ["a@example.org", "b@example.org", "Ops Team <c@example.org>"]
    assert (await channel(box.smarthost, to=to).send(message())).ok
    [mail] = box.received
    assert mail.recipients == ["a@example.org", "b@example.org", "c@example.org"]
    assert mail.mail["To"] == "a@example.org, b@example.org, Ops Team <c@example.org>"


async def test_untrusted_alert_text_is_escaped_in_html_and_literal_in_text(box: Mailbox) -> None:
    assert (await channel(box.smarthost).send(message(1, 0, title=HOSTILE_TITLE, description="<img src=x>"))).ok
    [mail] = box.received
    html = mail.part("html")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x&gt;" in html and "<img" not in html
    assert "{{ &#39;&#39;.__class__ }}" in html  # shown as written, never evaluated
    assert HOSTILE_TITLE in mail.part("plain")
    assert "<class" not in html + mail.part("plain")


async def test_starttls_with_auth(tls: TLSFiles) -> None:
    with smtp_server(security="starttls", tls=tls, auth=True) as box:
        sent = await channel(
            box.smarthost, security="starttls", ca_file=tls.ca_file, username=USER, password=PASSWORD
        ).send(message())
        assert sent.ok, sent.error
        assert len(box.received) == 1 and box.logins == [USER]


async def test_implicit_tls(tls: TLSFiles) -> None:
    with smtp_server(security="tls", tls=tls) as box:
        sent = await channel(box.smarthost, security="tls", ca_file=tls.ca_file).send(message())
        assert sent.ok, sent.error
        assert len(box.received) == 1


async def test_an_untrusted_certificate_is_not_retried(tls: TLSFiles) -> None:
    with smtp_server(security="tls", tls=tls) as box:
        delivery = await channel(box.smarthost, security="tls").send(message())
        assert (delivery.ok, delivery.retry) == (False, False)
        assert "certificate" in delivery.error
        skipped = await channel(box.smarthost, security="tls", tls_verify=False).send(message())
        assert skipped.ok, skipped.error


async def test_refused_credentials_are_not_retried_and_the_password_stays_out(tls: TLSFiles) -> None:
    with smtp_server(security="starttls", tls=tls, auth=True) as box:
        wrong = "not-the-" + PASSWORD
        delivery = await channel(
            box.smarthost, security="starttls", ca_file=tls.ca_file, username=USER, password=wrong
        ).send(message())
        assert (delivery.ok, delivery.retry) == (False, False)
        assert "authentication failed (535)" in delivery.error
        assert wrong not in delivery.error and box.received == []


async def test_auth_on_plain_smtp(box: Mailbox) -> None:
    # The fixture's server takes no auth; one that requires it:
    with smtp_server(auth=True) as needs_auth:
        assert (await channel(needs_auth.smarthost, username=USER, password=PASSWORD).send(message())).ok
        refused = await channel(needs_auth.smarthost).send(message())  # no credentials
        assert (refused.ok, refused.retry) == (False, False)
        assert refused.error.startswith("SMTP 530")


@pytest.mark.parametrize("after_commands", [0, 1, 2, 3])  # after the greeting, EHLO, MAIL FROM, RCPT TO
async def test_a_server_that_drops_the_connection_is_retried(after_commands: int) -> None:
    with dropping_server(after_commands) as smarthost:
        delivery = await channel(smarthost, timeout_seconds=5).send(message())
    assert (delivery.ok, delivery.retry) == (False, True)
    assert "closed the connection" in delivery.error or "connection failed" in delivery.error


async def test_nobody_listening_is_retried() -> None:
    delivery = await channel(f"127.0.0.1:{free_port()}").send(message())
    assert (delivery.ok, delivery.retry) == (False, True)


async def test_starttls_against_a_server_without_it_is_not_retried(box: Mailbox) -> None:
    delivery = await channel(box.smarthost, security="starttls").send(message())
    assert (delivery.ok, delivery.retry) == (False, False)


async def test_chinese_templates_and_an_inline_subject(box: Mailbox) -> None:
    sent = await channel(
        box.smarthost,
        language="zh",
        subject="{{ counts.firing }} 条告警：{{ alerts[0].title }}",  # noqa: RUF001
    ).send(message(1, 0, title="磁盘\n已满"))
    assert sent.ok
    [mail] = box.received
    assert mail.mail["Subject"] == "1 条告警：磁盘 已满"  # noqa: RUF001 - one line
    assert "[告警] CRITICAL：磁盘" in mail.part("plain")  # noqa: RUF001


async def test_a_user_template_directory_overrides_the_shipped_one(box: Mailbox, tmp_path: Path) -> None:
    (tmp_path / "en" / "email").mkdir(parents=True)
    (tmp_path / "en" / "email" / "body.txt").write_text("custom: {{ counts.total }}\n")
    mailer = EmailChannel(
        EmailSettings.model_validate(
            {"to": ["a@x.org"], "from": "b@x.org", "smarthost": box.smarthost, "security": "none"}
        ),
        templates=Templates(tmp_path),
    )
    assert (await mailer.send(message())).ok
    assert box.received[0].part("plain").strip() == "custom: 3"
    assert "Disk 1 full" in box.received[0].part("html")  # not overridden: the shipped one


def test_settings_are_checked_when_the_config_loads() -> None:
    base = {"to": ["a@x.org"], "from": "b@x.org", "smarthost": "mail:25"}
    assert check_settings("email", base) == []
    problems = dict(check_settings("email", {**base, "to": [], "from": "nobody", "security": "ssl"}))
    assert set(problems) == {("to",), ("from",), ("security",)}
    [(where, text)] = check_settings("email", {"to": ["a@x.org"], "from": "b@x.org"})
    assert where == () and "smarthost" in text
    [(where, text)] = check_settings("email", {**base, "subject": "{{ oops"})
    assert where == ("subject",) and "line 1" in text
    assert check_settings("email", {**base, "language": "zh", "template": "email"}) == []
    [(where, text)] = check_settings("email", {**base, "template": "../etc"})
    assert where == ("template",)


def test_a_broken_user_template_is_reported_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alert_handler import templates
    from alert_handler.settings import get_settings

    (tmp_path / "en" / "mine").mkdir(parents=True)
    (tmp_path / "en" / "mine" / "body.html").write_text("<p>\n{% for a in alerts %}\n")
    monkeypatch.setenv("TEMPLATES_DIR", str(tmp_path))
    get_settings.cache_clear()
    templates.default_templates.cache_clear()
    try:
        base = {"to": ["a@x.org"], "from": "b@x.org", "smarthost": "mail:25"}
        [(where, text)] = check_settings("email", {**base, "template": "mine"})
        assert where == ("template",)
        assert "en/mine/body.html, line 2" in text and "for" in text
        assert check_settings("email", base) == []
    finally:
        get_settings.cache_clear()
        templates.default_templates.cache_clear()


def test_password_is_secret_and_the_port_follows_security() -> None:
    made = build("email", {"to": ["a@x.org"], "from": "b@x.org", "host": "mail", "password": PASSWORD})
    assert PASSWORD not in repr(made.settings)
    assert isinstance(made.settings, EmailSettings) and made.settings.server == ("mail", 587)
    tls = EmailSettings.model_validate({"to": ["a@x.org"], "from": "b@x.org", "host": "mail", "security": "tls"})
    assert tls.server == ("mail", 465)


async def test_later_mails_of_a_group_reply_to_the_first(box: Mailbox) -> None:
    first = await channel(box.smarthost).send(message())
    assert first.ok and first.reply["message_id"] == box.received[0].mail["Message-ID"].strip()
    later = replace(message(), thread=first.reply)
    assert (await channel(box.smarthost).send(later)).ok
    reply = box.received[1].mail
    assert reply["In-Reply-To"].strip() == reply["References"].strip() == first.reply["message_id"]
    assert box.received[0].mail["In-Reply-To"] is None


async def test_a_digest_says_so(box: Mailbox) -> None:
    assert (await channel(box.smarthost).send(replace(message(), merged=5))).ok
    mail = box.received[0]
    assert mail.mail["Subject"].startswith("[DIGEST of 5] ")
    assert "5 notifications merged" in mail.part("plain") and "5 notifications merged" in mail.part("html")
