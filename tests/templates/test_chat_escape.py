"""Escaping for the chat robots' markdown (DingTalk, WeCom, Feishu lark_md): markup characters
become character references, which the robots decode after parsing, so text shows as written."""

from __future__ import annotations

import html

import pytest

from alert_handler.templates import Templates, escape, format_of
from tests.channels.factory import HOSTILE_TITLE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[click](http://evil) **b**", "&#91;click&#93;(http://evil) &#42;&#42;b&#42;&#42;"),
        ("<font color=red>x</font> <@all>", "&lt;font color=red&gt;x&lt;/font&gt; &lt;@all&gt;"),
        ("`code` ~~s~~ a|b \\x &amp;", "&#96;code&#96; &#126;&#126;s&#126;&#126; a&#124;b &#92;x &amp;amp;"),
        ("node_disk_full _x_ 磁盘_满", "node_disk_full &#95;x&#95; 磁盘_满"),  # a word's own `_` stays
        ("h-1.example 95.5% a+b #3", "h-1.example 95.5% a+b #3"),  # `-.+#` inside a line form nothing
        ("# h\n- a\n  + b\n12. c\n3) d\n===\n> q", "&#35; h\n&#45; a\n  &#43; b\n12&#46; c\n3&#41; d\n&#61;==\n&gt; q"),
        ("bell\x07", "bell"),
    ],
)
def test_chat_markdown(text: str, expected: str) -> None:
    for fmt in ("dingtalk", "wecom"):
        assert escape.ESCAPERS[fmt](text) == expected
    assert html.unescape(expected) == text.replace("\x07", "")


def test_lark_mentions_cannot_form() -> None:
    escaped = escape.ESCAPERS["lark"]("<at id=all></at> <at email=a@b.c></at>")
    assert escaped == "&lt;at id=all&gt;&lt;/at&gt; &lt;at email=a@b.c&gt;&lt;/at&gt;"


def test_hostile_text_reads_back_whole() -> None:
    for fmt in ("dingtalk", "wecom", "lark"):
        escaped = escape.ESCAPERS[fmt](HOSTILE_TITLE)
        assert html.unescape(escaped) == HOSTILE_TITLE
        assert not any(live in escaped for live in ("<", "[click]", "*bold*", "__class__"))


def test_extensions_and_raw() -> None:
    assert [format_of(n) for n in ("a.dingtalk", "a.wecom", "a.lark")] == ["dingtalk", "wecom", "lark"]
    templates = Templates()
    source = "{{ t }} [link]({{ u | raw }})"
    rendered = templates.render(templates.compile(source, "lark"), {"t": "*x*", "u": "http://a/b_c"})
    assert rendered == "&#42;x&#42; [link](http://a/b_c)"  # the operator's markup and URL stay
