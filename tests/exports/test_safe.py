"""Formula-injection neutralising (OWASP), on plain values."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.exports.safe import (
    FORMULA_TRIGGERS,
    csv_text,
    is_formula_like,
    is_plain_text,
    needs_neutralising,
    strip_control,
    xlsx_text,
)

ATTACKS = [
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=cmd",
    "\r=cmd",
    "\0=cmd",
    '=HYPERLINK("http://evil.example","click")',
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_every_trigger_of_the_issue_is_neutralised(trigger):
    text = f"{trigger}SUM(1+1)"
    assert needs_neutralising(text)
    assert csv_text(text).startswith("'")
    value, inert = xlsx_text(text)
    assert inert
    assert "\0" not in value


def test_the_triggers_are_exactly_the_issues():
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r", "\0"}


@pytest.mark.parametrize("text", ATTACKS)
def test_csv_prefixes_an_apostrophe_and_keeps_the_rest(text):
    assert csv_text(text) == "'" + strip_control(text)


@pytest.mark.parametrize(
    "text", ["Campaign", "12 months", "", "a=b", "net -5", "e-mail", "Q1 @ HQ", "'quoted"]
)
def test_harmless_texts_are_unchanged(text):
    assert not is_formula_like(text)
    assert csv_text(text) == text
    assert xlsx_text(text) == (text, False)


def test_a_control_character_hiding_a_formula_is_caught():
    assert needs_neutralising("\x01=1+1")
    assert csv_text("\x01=1+1") == "'=1+1"
    assert xlsx_text("\x01=1+1") == ("=1+1", True)


def test_control_characters_are_removed_but_tab_cr_lf_kept():
    assert strip_control("a\x00b\x07c\x1fd") == "abcd"
    assert strip_control("a\tb\nc\rd") == "a\tb\nc\rd"


@given(st.text())
def test_no_output_can_start_a_formula(text):
    assert not is_formula_like(csv_text(text)) or csv_text(text).startswith("'")
    assert csv_text(text)[:1] not in ("=", "+", "-", "@", "\t", "\r", "\0")
    value, inert = xlsx_text(text)
    assert inert or value[:1] not in FORMULA_TRIGGERS


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_no_text_starting_with_a_trigger_takes_the_fast_path(trigger):
    assert not is_plain_text(trigger)
    assert not is_plain_text(f"{trigger}SUM(1+1)")


@pytest.mark.parametrize("text", ["\x01=1+1", "ok\x00", "a\x0bb", "\x1f-1", "x\x08"], ids=repr)
def test_no_text_with_a_control_character_takes_the_fast_path(text):
    assert not is_plain_text(text)


@pytest.mark.parametrize("text", ["Campaign", "", "a=b", "net -5", "a\tb", "line\nbreak", "é"])
def test_ordinary_texts_take_the_fast_path(text):
    assert is_plain_text(text)


@given(st.text())
def test_the_fast_path_changes_nothing_that_needs_changing(text):
    if is_plain_text(text):
        assert not needs_neutralising(text)
        assert strip_control(text) == text
        assert xlsx_text(text) == (text, False)
        assert csv_text(text) == text
