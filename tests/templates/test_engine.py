"""The engine: shipped defaults in both languages, the user's directory first, the sandbox,
errors that name the file and line, and the context's filters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alert_handler.templates import DEFAULTS_DIR, TemplateError, Templates, format_duration, format_of, message_context
from tests.channels.factory import HOSTILE_TITLE, T0, message

NOW = T0 + timedelta(hours=2, minutes=3)


def test_every_channel_has_defaults_in_english_and_chinese() -> None:
    for channel in ("email", "sms", "webhook"):
        english = {p.name for p in (DEFAULTS_DIR / "en" / channel).iterdir()}
        chinese = {p.name for p in (DEFAULTS_DIR / "zh" / channel).iterdir()}
        assert english and english == chinese
    repo_level = Path(__file__).parents[2] / "templates"
    assert repo_level.resolve() == DEFAULTS_DIR.resolve()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_defaults_render_in_each_language(language: str) -> None:
    templates = Templates(language=language)
    context = message_context(message(), now=NOW, language=language)
    for channel, files in {"email": ("subject.txt", "body.txt", "body.html"), "sms": ("message.txt",)}.items():
        for file in files:
            name = templates.find(channel, file)
            assert name == f"{language}/{channel}/{file}"
            assert file == "subject.txt" or "Disk 1 full" in templates.render(name, context)
    subject = templates.render(templates.find("email", "subject.txt"), context)
    assert subject.strip() == ("[FIRING:2] alertname=DiskFull" if language == "en" else "[告警:2] alertname=DiskFull")


def test_hostile_alert_text_is_text_in_every_format() -> None:
    templates = Templates()
    context = message_context(message(1, 0, title=HOSTILE_TITLE), now=NOW)
    html = templates.render("en/email/body.html", context)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<class" not in html
    for fmt, expected in {
        "markdown": r"\[click\]\(http://evil\.example\)",
        "slack": "&lt;!channel&gt;",
        "telegram": "&lt;script&gt;",
        "plain": HOSTILE_TITLE,
    }.items():
        rendered = templates.render(templates.compile("{{ alerts[0].title }}", fmt), context)
        assert expected in rendered and "<class" not in rendered


def test_the_sandbox_refuses_unsafe_attributes() -> None:
    templates = Templates()
    template = templates.compile("{{ ''.__class__.__mro__[1].__subclasses__() }}", "plain")
    with pytest.raises(TemplateError, match=r"SecurityError|UndefinedError"):
        templates.render(template, {})
    mutate = templates.compile("{% set x = alerts.append(1) %}", "plain")
    with pytest.raises(TemplateError, match="SecurityError"):
        templates.render(mutate, {"alerts": []})


def test_the_users_directory_comes_first_and_names_a_set(tmp_path: Path) -> None:
    (tmp_path / "zh" / "email").mkdir(parents=True)
    (tmp_path / "zh" / "email" / "subject.txt").write_text("自定义 {{ counts.total }}")
    (tmp_path / "en" / "short").mkdir(parents=True)
    (tmp_path / "en" / "short" / "body.txt").write_text("short")
    templates = Templates(tmp_path, language="zh")
    assert templates.find("email", "subject.txt") == "zh/email/subject.txt"
    assert templates.render("zh/email/subject.txt", {"counts": {"total": 3}}) == "自定义 3"
    # A set missing a file or a language falls back to the channel's set, then to English.
    assert templates.find("email", "body.txt", template_set="short") == "en/short/body.txt"
    assert templates.find("email", "body.html", template_set="short") == "zh/email/body.html"
    templates.check("email", ("body.txt",), template_set="short", language="zh")
    with pytest.raises(TemplateError, match="no template set 'nope'"):
        templates.check("email", ("body.txt",), template_set="nope", language=None)


def test_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "en" / "email").mkdir(parents=True)
    (tmp_path / "en" / "email" / "body.txt").write_text("ok\n{{ alerts | }}\n")
    templates = Templates(tmp_path)
    with pytest.raises(TemplateError, match=r"en/email/body.txt, line 2: "):
        templates.check("email", ("subject.txt", "body.txt"), template_set=None, language=None)
    with pytest.raises(TemplateError, match=r"template, line 1: "):
        templates.compile("{% for %}", "plain")
    with pytest.raises(TemplateError, match="unknown template language"):
        Templates(language="fr")


def test_context_counts_cut_and_filters() -> None:
    context = message_context(message(3, 2), now=NOW, max_alerts=4)
    assert context["counts"] == {"firing": 3, "resolved": 2, "total": 5, "shown": 4, "truncated": 1}
    assert (len(context["firing"]), len(context["resolved"])) == (3, 1)
    assert context["common_labels"] == {"alertname": "DiskFull"}
    templates = Templates()
    source = (
        "{{ alerts[0].starts_at | since }}|{{ alerts[0].starts_at | time }}|"
        "{{ 'abcdef' | cut(4) }}|{{ group_labels | pairs }}"
    )
    rendered = templates.render(templates.compile(source, "plain"), context)
    assert rendered == "2h 3m|2026-03-02 10:00:00 UTC|abc…|alertname=DiskFull"
    assert [format_duration(s) for s in (0, 42, 60, 3600, 3661, 90000)] == ["0s", "42s", "1m", "1h", "1h 1m", "1d 1h"]
    assert [format_of(n) for n in ("a.html", "a.txt", "a.md", "a.json", "a.slack", "a.tg", "a")] == [
        "html", "plain", "markdown", "json", "slack", "telegram", "plain",
    ]  # fmt: skip
