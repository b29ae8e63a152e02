"""Escaping per output format: alert text is untrusted, so every value a template prints is made
inert for the format it lands in (a title of `<b>`, `*bold*` or `[x](http://evil)` shows as
written). Literal text of the template itself is the operator's and is left alone.

    html       HTML email bodies (Jinja's own autoescape; `&<>"'` become entities)
    telegram   Telegram's HTML subset: `&`, `<`, `>`, `"` as entities
    slack      Slack mrkdwn: `&`, `<`, `>` as entities, so `<!channel>` or `<url|text>` cannot form
    markdown   CommonMark-style markdown: specials backslash-escaped, `<` and `>` as entities
    dingtalk   DingTalk robot markdown  } markup characters as HTML character references (`*` as
    wecom      WeCom robot markdown     } `&#42;`, `<` as `&lt;`), which these renderers decode
    lark       Feishu / Lark `lark_md`  } after parsing: they show as written and form nothing
    plain      text: control characters other than newline and tab removed
    json       a JSON value: `{{ x }}` prints `x` encoded as JSON (strings quoted)

A value marked `Raw` (the `raw` filter; `safe` in HTML) is printed as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from jinja2 import Undefined
from markupsafe import Markup, escape

FORMATS = ("html", "telegram", "slack", "markdown", "dingtalk", "wecom", "lark", "plain", "json")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
# Chat robots' markdown: backslash escapes are not documented by DingTalk or WeCom (and would
# show as `\-` in every host name if unsupported); character references are Feishu's documented
# escape for lark_md, and DingTalk's and WeCom's markdown take inline HTML (`<font>`), so `&lt;`
# shows a `<` there. So markup characters become references; `-` `+` `=` `#` and `1.` only at a
# line's start, where they begin a block, and `_` not inside a word (`node_disk_full` cannot
# make emphasis, and stays as written in the payload).
_LONE_UNDERSCORE = r"(?<![^\W_])_|_(?![^\W_])"
_CHAT_INLINE = re.compile(r"[&<>*`\[\]~|\\]|" + _LONE_UNDERSCORE)
_CHAT_LINE_START = re.compile(r"(^|\n)([ \t]*)([-+=#]|\d+[.)])", re.ASCII)


class Raw(str):
    """Text a template marked as already right for its format (the `raw` filter)."""

    __slots__ = ()


def plain(value: str) -> str:
    return _CONTROL.sub("", value)


def html(value: str) -> str:
    return str(escape(plain(value)))


def telegram(value: str) -> str:
    return plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def slack(value: str) -> str:
    return plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(value: str) -> str:
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", plain(value))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _reference(char: str) -> str:
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char) or f"&#{ord(char)};"


def _line_start(match: re.Match[str]) -> str:
    marker = match.group(3)
    return match.group(1) + match.group(2) + marker[:-1] + _reference(marker[-1])


def chat_markdown(value: str) -> str:
    text = _CHAT_INLINE.sub(lambda m: _reference(m.group()), plain(value))
    return _CHAT_LINE_START.sub(_line_start, text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    return str(value)


def json_value(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode()


ESCAPERS: dict[str, Callable[[str], str]] = {
    "html": html,
    "telegram": telegram,
    "slack": slack,
    "markdown": markdown,
    "dingtalk": chat_markdown,
    "wecom": chat_markdown,
    "lark": chat_markdown,  # `:OK:` may still show as an emoji: harmless, and `:` is in every time
    "plain": plain,
}


def finalizer(fmt: str) -> Callable[[Any], Any]:
    """What Jinja applies to every printed value in a template of this format."""
    if fmt == "json":

        def as_json(value: Any) -> Any:
            if isinstance(value, Raw | Markup):
                return str(value)
            return json_value(None if _undefined(value) else value)

        return as_json
    if fmt == "html":
        # Autoescape does the escaping (and honours `safe`); here only None prints as nothing.
        return lambda value: "" if value is None else value
    escaper = ESCAPERS[fmt]

    def finalize(value: Any) -> Any:
        if value is None or _undefined(value):
            return ""
        if isinstance(value, Raw | Markup):
            return str(value)
        return escaper(str(value))

    return finalize


def _undefined(value: Any) -> bool:
    return isinstance(value, Undefined)
