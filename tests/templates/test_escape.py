"""Escaping per format: hostile alert text renders as text in every format."""

from __future__ import annotations

import json

import pytest

from alert_handler.templates import escape


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("html", '<a href="x">&</a>', "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;"),
        ("telegram", '<b>"x" & y</b>', "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"),
        ("slack", "<!channel> <http://evil|click> & *b*", "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; *b*"),
        ("markdown", "[click](http://evil) **b** # h", r"\[click\]\(http://evil\) \*\*b\*\* \# h"),
        ("markdown", "<font color=red>x</font>", r"&lt;font color=red&gt;x&lt;/font&gt;"),
        ("plain", "bell\x07 and\ttab\nline", "bell and\ttab\nline"),
    ],
)
def test_escapers(fmt: str, text: str, expected: str) -> None:
    assert escape.ESCAPERS[fmt](text) == expected


def test_finalizers_pass_raw_and_print_none_as_nothing() -> None:
    for fmt in ("telegram", "slack", "markdown", "plain"):
        finalize = escape.finalizer(fmt)
        assert finalize(None) == ""
        assert finalize(escape.Raw("<b>*x*</b>")) == "<b>*x*</b>"
    as_json = escape.finalizer("json")
    assert as_json('say "hi"\n') == json.dumps('say "hi"\n')
    assert json.loads(as_json({"a": [1, None]})) == {"a": [1, None]}
    assert as_json(None) == "null"
