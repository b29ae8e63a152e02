"""The template engine: Jinja2's immutable sandbox, one environment per output format, templates
looked up in the user's directory (TEMPLATES_DIR) first and then in the shipped defaults.

Template names are `<language>/<set>/<file>`, e.g. `en/email/body.html`; a channel's set is its
own name unless a receiver names another (`template: my-email`). A file missing from the
receiver's language is taken from English; one missing from the receiver's set, from the
channel's set (in the receiver's language, then English). The format, and
so the escaping, follows the file's extension (`escape.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChainableUndefined,
    ChoiceLoader,
    FileSystemLoader,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alert_handler.errors import TemplateError
from alert_handler.templates.context import FILTERS
from alert_handler.templates.escape import FORMATS, Raw, finalizer

DEFAULTS_DIR = Path(__file__).with_name("defaults")
LANGUAGES = ("en", "zh")
EXTENSIONS = {
    ".html": "html",
    ".txt": "plain",
    ".md": "markdown",
    ".json": "json",
    ".slack": "slack",
    ".tg": "telegram",
    ".dingtalk": "dingtalk",
    ".wecom": "wecom",
    ".lark": "lark",
}
MAX_OUTPUT = 1 << 20  # a rendering longer than this is cut: no template makes a message this big on purpose


def format_of(name: str) -> str:
    return EXTENSIONS.get(Path(name).suffix, "plain")


def _environment(fmt: str, loader: BaseLoader) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=fmt == "html",
        finalize=finalizer(fmt),
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    env.filters.update(FILTERS)
    if fmt != "html":
        env.filters["raw"] = Raw
        env.filters["safe"] = Raw
    return env


def _describe(exc: Exception, where: str) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.name or where}, line {exc.lineno}: {exc.message}"
    return f"{where}: {type(exc).__name__}: {exc}"


class Templates:
    """Finds, checks and renders templates. One per process is enough (`default_templates`)."""

    def __init__(self, user_dir: str | Path | None = None, language: str = "en") -> None:
        if language not in LANGUAGES:
            raise TemplateError(f"unknown template language {language!r}; available: {', '.join(LANGUAGES)}")
        self.user_dir = Path(user_dir) if user_dir else None
        self.language = language
        loaders: list[BaseLoader] = [FileSystemLoader(str(self.user_dir))] if self.user_dir else []
        loaders.append(FileSystemLoader(str(DEFAULTS_DIR)))
        loader = ChoiceLoader(loaders)
        self._envs = {fmt: _environment(fmt, loader) for fmt in FORMATS}
        self._inline: dict[tuple[str, str], Template] = {}

    def _exists(self, name: str) -> bool:
        env = self._envs["plain"]
        try:
            env.loader.get_source(env, name)  # type: ignore[union-attr]
        except TemplateNotFound:
            return False
        return True

    def find(self, channel: str, file: str, *, template_set: str | None = None, language: str | None = None) -> str:
        """The name of the template to use; raises TemplateError when no candidate exists."""
        tried = []
        for name in dict.fromkeys((template_set or channel, channel)):
            for lang in dict.fromkeys((language or self.language, "en")):
                candidate = f"{lang}/{name}/{file}"
                tried.append(candidate)
                if self._exists(candidate):
                    return candidate
        raise TemplateError(f"no template {file!r}: looked for {', '.join(tried)}")

    def load(self, name: str) -> Template:
        """The compiled template `name`; raises TemplateError naming the file and line."""
        try:
            return self._envs[format_of(name)].get_template(name)
        except TemplateNotFound:
            raise TemplateError(f"no template {name!r}") from None
        except TemplateSyntaxError as exc:
            raise TemplateError(_describe(exc, name)) from None

    def compile(self, source: str, fmt: str) -> Template:
        """An inline template (from a receiver's settings), compiled once."""
        found = self._inline.get((fmt, source))
        if found is None:
            try:
                found = self._envs[fmt].from_string(source)
            except TemplateSyntaxError as exc:
                raise TemplateError(_describe(exc, "template")) from None
            if len(self._inline) > 256:
                self._inline.clear()
            self._inline[(fmt, source)] = found
        return found

    def render(self, template: Template | str, context: Mapping[str, Any]) -> str:
        """Render a loaded template (or the file `template`); raises TemplateError on any failure
        in the template (a sandbox refusal, a bad filter argument)."""
        loaded = self.load(template) if isinstance(template, str) else template
        try:
            text = loaded.render(context)
        except TemplateError:
            raise
        except Exception as exc:
            raise TemplateError(_describe(exc, loaded.name or "template")) from None
        return text[:MAX_OUTPUT]

    def check(self, channel: str, files: tuple[str, ...], *, template_set: str | None, language: str | None) -> None:
        """Every file a receiver would use exists and compiles; raises TemplateError."""
        if language is not None and language not in LANGUAGES:
            raise TemplateError(f"unknown language {language!r}; available: {', '.join(LANGUAGES)}")
        if template_set and template_set != channel:
            wanted = [f"{lang}/{template_set}/{file}" for lang in LANGUAGES for file in files]
            if not any(self._exists(name) for name in wanted):
                where = f"{self.user_dir} or the shipped defaults" if self.user_dir else "the shipped defaults"
                raise TemplateError(f"no template set {template_set!r} in {where} (looked for {', '.join(wanted)})")
        for file in files:
            self.load(self.find(channel, file, template_set=template_set, language=language))
