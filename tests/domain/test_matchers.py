"""Label matchers: Alertmanager's syntax and semantics."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alert_handler.domain.matchers import Matcher, MatcherError, MatchOp, matches_all, parse_matcher, parse_matchers


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('team="db"', "team", MatchOp.EQ, "db"),
        ('team!="db"', "team", MatchOp.NE, "db"),
        ('instance=~"web-.*"', "instance", MatchOp.RE, "web-.*"),
        ('instance!~"web-.*"', "instance", MatchOp.NRE, "web-.*"),
        ("team=db", "team", MatchOp.EQ, "db"),
        ("team!~db|web", "team", MatchOp.NRE, "db|web"),
        ('  team   =   "db"  ', "team", MatchOp.EQ, "db"),
        ('team=""', "team", MatchOp.EQ, ""),
        ("team=", "team", MatchOp.EQ, ""),
        ('url="a=b"', "url", MatchOp.EQ, "a=b"),
        ('x="=~"', "x", MatchOp.EQ, "=~"),
        ('_private="1"', "_private", MatchOp.EQ, "1"),
        ('k8s.io-name="v"', "k8s.io-name", MatchOp.EQ, "v"),
        ('msg="with spaces inside"', "msg", MatchOp.EQ, "with spaces inside"),
        ('msg="  padded  "', "msg", MatchOp.EQ, "  padded  "),
        ('msg="a,b"', "msg", MatchOp.EQ, "a,b"),
        ('msg="严重"', "msg", MatchOp.EQ, "严重"),
    ],
)
def test_parse_one_matcher(text: str, name: str, op: MatchOp, value: str) -> None:
    matcher = parse_matcher(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'a="say \"hi\""', 'say "hi"'),
        (r'a="back\\slash"', "back\\slash"),
        (r'a="line\nbreak"', "line\nbreak"),
        (r'a="\\n"', "\\n"),
        (r'a="\\"', "\\"),
        (r'a="\"\""', '""'),
    ],
)
def test_quoted_values_understand_escapes(text: str, value: str) -> None:
    assert parse_matcher(text).value == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "team",
        '"team"="db"',
        '1team="db"',
        '-team="db"',
        'team=="db"',
        'team~="db"',
        'team<"db"',
        'team="db',
        'team=db"',
        'team=d"b',
        'team="d"b"',
        r'team="\t"',
        'team="trailing\\"',
        'team=~"("',
        'team!~"[a-"',
        'team=~"*"',
    ],
)
def test_malformed_matchers_are_refused(text: str) -> None:
    with pytest.raises(MatcherError):
        parse_matcher(text)


def test_matcher_error_is_a_value_error_that_names_the_problem() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        parse_matcher('a=~"("')
    with pytest.raises(ValueError, match="escape"):
        parse_matcher(r'a="\q"')
    with pytest.raises(ValueError, match="not a matcher"):
        parse_matcher("nonsense")


def test_create_checks_the_operator_and_the_regex() -> None:
    assert Matcher.create("a", "=~", "x+").op is MatchOp.RE
    with pytest.raises(ValueError):
        Matcher.create("a", "==", "x")
    with pytest.raises(MatcherError):
        Matcher.create("a", MatchOp.NRE, "(")
    # Equality values are never compiled, so regex syntax is fine in them.
    assert Matcher.create("a", MatchOp.EQ, "(").matches("(")


class TestSemantics:
    def test_equality_is_exact(self) -> None:
        m = parse_matcher('team="db"')
        assert m.matches("db")
        assert not m.matches("DB")
        assert not m.matches("db2")
        assert not m.matches(" db")
        assert not m.matches("")

    def test_inequality(self) -> None:
        m = parse_matcher('team!="db"')
        assert not m.matches("db")
        assert m.matches("web")
        assert m.matches("")

    def test_regex_is_fully_anchored(self) -> None:
        m = parse_matcher('instance=~"web-[0-9]+"')
        assert m.matches("web-01")
        assert not m.matches("xweb-01")
        assert not m.matches("web-01x")
        assert not m.matches("my-web-01-host")

    def test_alternation_is_anchored_as_a_whole(self) -> None:
        m = parse_matcher('env=~"prod|staging"')
        assert m.matches("prod")
        assert m.matches("staging")
        assert not m.matches("production")
        assert not m.matches("preprod")
        assert not m.matches("prod|staging")

    def test_negative_regex_is_anchored_too(self) -> None:
        m = parse_matcher('env!~"prod"')
        assert not m.matches("prod")
        assert m.matches("production")
        assert m.matches("")

    def test_regex_is_case_sensitive(self) -> None:
        assert not parse_matcher('a=~"prod"').matches("PROD")
        assert parse_matcher('a=~"[pP]rod"').matches("Prod")

    def test_anchored_pattern_is_what_sql_gets(self) -> None:
        m = parse_matcher('env=~"prod|staging"')
        assert m.anchored_pattern == "^(?:prod|staging)$"
        assert re.match(m.anchored_pattern, "production") is None

    def test_absent_label_is_the_empty_string(self) -> None:
        labels = {"env": "prod"}
        assert parse_matcher('team=""').matches_labels(labels)
        assert not parse_matcher('team!=""').matches_labels(labels)
        assert parse_matcher('team!="db"').matches_labels(labels)
        assert not parse_matcher('team="db"').matches_labels(labels)
        assert parse_matcher('team=~".*"').matches_labels(labels)
        assert parse_matcher('team=~"db|"').matches_labels(labels)
        assert not parse_matcher('team=~".+"').matches_labels(labels)
        assert parse_matcher('team!~".+"').matches_labels(labels)

    def test_present_empty_label_equals_absent(self) -> None:
        assert parse_matcher('team=""').matches_labels({"team": ""})
        assert not parse_matcher('team=""').matches_labels({"team": "db"})

    def test_matches_all_is_a_conjunction(self) -> None:
        matchers = parse_matchers('{team="db", env=~"prod|staging", host!~"test-.*"}')
        assert matches_all(matchers, {"team": "db", "env": "prod", "host": "db-1"})
        assert not matches_all(matchers, {"team": "db", "env": "prod", "host": "test-1"})
        assert not matches_all(matchers, {"team": "web", "env": "prod"})
        assert not matches_all(matchers, {"team": "db", "env": "dev"})
        assert matches_all([], {})


class TestSeveralMatchers:
    def test_amtool_braced_form(self) -> None:
        matchers = parse_matchers('{a="1",b=~"x|y"}')
        assert matchers == [Matcher.create("a", "=", "1"), Matcher.create("b", "=~", "x|y")]

    def test_bare_comma_form_with_spaces(self) -> None:
        matchers = parse_matchers(' a="1" ,  b!="2", c!~z ')
        assert [(m.name, m.op, m.value) for m in matchers] == [
            ("a", MatchOp.EQ, "1"),
            ("b", MatchOp.NE, "2"),
            ("c", MatchOp.NRE, "z"),
        ]

    def test_commas_and_braces_inside_quotes_do_not_split(self) -> None:
        matchers = parse_matchers('{a="1,2", b="{x}", c=~"a{2,3}"}')
        assert [m.value for m in matchers] == ["1,2", "{x}", "a{2,3}"]
        assert matchers[2].matches("aaa")

    def test_escaped_quote_inside_a_value_does_not_end_it(self) -> None:
        matchers = parse_matchers(r'{a="x\",y", b="z"}')
        assert [(m.name, m.value) for m in matchers] == [("a", 'x",y'), ("b", "z")]

    def test_escaped_backslash_before_a_closing_quote(self) -> None:
        matchers = parse_matchers(r'{a="x\\", b="z"}')
        assert [(m.name, m.value) for m in matchers] == [("a", "x\\"), ("b", "z")]

    def test_empty_input_gives_no_matchers(self) -> None:
        assert parse_matchers("{}") == []
        assert parse_matchers("") == []
        assert parse_matchers("  { }  ") == []

    def test_trailing_comma_is_tolerated(self) -> None:
        assert len(parse_matchers('{a="1",}')) == 1

    @pytest.mark.parametrize(
        "text",
        ['{a="1}', '{a="1", b="2}', '{a="1", nonsense}', '{a="1", b=~"("}', '{a="1" b="2"}'],
    )
    def test_errors_in_any_part_refuse_the_whole(self, text: str) -> None:
        with pytest.raises(MatcherError):
            parse_matchers(text)


def test_str_is_the_quoted_form() -> None:
    assert str(parse_matcher("team=db")) == 'team="db"'
    assert str(parse_matcher('a!~"x|y"')) == 'a!~"x|y"'
    assert str(Matcher.create("a", "=", 'q"\\\n')) == r'a="q\"\\\n"'


label_names = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_.\-]{0,12}\Z")
any_values = st.text(max_size=20)
literal_regex_values = st.text(max_size=20).map(re.escape)


@given(name=label_names, op=st.sampled_from([MatchOp.EQ, MatchOp.NE]), value=any_values)
def test_str_parses_back_to_the_same_matcher(name: str, op: MatchOp, value: str) -> None:
    matcher = Matcher.create(name, op, value)
    assert parse_matcher(str(matcher)) == matcher


@given(name=label_names, op=st.sampled_from([MatchOp.RE, MatchOp.NRE]), text=st.text(max_size=20))
def test_regex_matchers_round_trip_and_match_their_literal(name: str, op: MatchOp, text: str) -> None:
    matcher = Matcher.create(name, op, re.escape(text))
    parsed = parse_matcher(str(matcher))
    assert parsed == matcher
    assert parsed.matches(text) is (op is MatchOp.RE)
    assert parsed.matches(text + "x") is (op is MatchOp.NRE)


@given(
    st.lists(
        st.builds(Matcher.create, label_names, st.sampled_from([MatchOp.EQ, MatchOp.NE]), any_values),
        max_size=5,
    )
)
def test_a_list_round_trips_through_the_braced_form(matchers: list[Matcher]) -> None:
    text = "{" + ", ".join(str(m) for m in matchers) + "}"
    assert parse_matchers(text) == matchers
