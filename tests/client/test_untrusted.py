"""The sanitising boundary: what a terminal would obey never survives; the text does."""

import csv
import io

import pytest

from rds_tui.untrusted import MAX_TEXT_LENGTH, clean, clean_text, csv_cell, is_clean, markdown_text

# What a hostile server or database role can put in a message or a NOTIFY payload.
HOSTILE = {
    "osc52_clipboard": "\x1b]52;c;cm0gLXJmIH4K\x07",
    "csi_rewrite_line": "FAILED\r\x1b[2K\x1b[1APASSED",
    "hyperlink": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "bell_and_nul": "a\x07b\x00c",
    "c1_csi": "x\x9b31my",
    "bidi_override": "abc\u202edcba\u2066z\u2069",
    "reset_terminal": "\x1bc",
    "lone_surrogate": "a\ud800b",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_no_control_survives(name):
    text = clean_text(HOSTILE[name])
    assert is_clean(text)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_what_the_sequences_carried_does_not_linger():
    assert clean_text(HOSTILE["osc52_clipboard"] + "ok") == "ok"
    assert clean_text(HOSTILE["hyperlink"]) == "click"
    assert clean_text(HOSTILE["csi_rewrite_line"]) == "FAILEDPASSED"


def test_ordinary_text_is_kept_as_is():
    text = "FATAL: terminating connection due to idle-session timeout\n\tat 40:02 [57P05] ✉ ♥ é"
    assert clean_text(text) == text


def test_length_is_bounded_and_says_so():
    text = clean_text("x" * (MAX_TEXT_LENGTH + 500))
    assert text.startswith("x" * MAX_TEXT_LENGTH)
    assert text.endswith("[cut: 500 more characters]")


def test_whole_documents_keys_included():
    document = {"msg\x1b[2K": ["a\x07", {"b": "c\x9b1m"}], "n": 5, "none": None}
    assert clean(document) == {"msg": ["a", {"b": "c"}], "n": 5, "none": None}


@pytest.mark.parametrize("payload", ["=1+2", "+1", "-1+1", "@SUM(A1)", "\t=1", '=HYPERLINK("x")'])
def test_csv_cells_never_start_a_formula(payload):
    cell = csv_cell(payload)
    assert cell.startswith("'")
    # Round trip through the csv module: what a spreadsheet reads.
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell])
    assert next(csv.reader(io.StringIO(buffer.getvalue())))[0][0] == "'"


def test_csv_numbers_stay_numbers():
    assert csv_cell(-2.5) == "-2.5"
    assert csv_cell(42) == "42"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "True"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold* _it_ `code` test_6_listen", r"\*bold\* \_it\_ \`code\` test_6_listen"),
        ("[link](https://x)", r"\[link\](https://x)"),
        ("a | b", r"a \| b"),
        ("<img src=x>", r"\<img src=x\>"),
        ("- item", r"\- item"),
        ("2. item", r"2\. item"),
        ("line\nbreak", "line break"),
    ],
)
def test_markdown_is_shown_literally(text, expected):
    assert markdown_text(text) == expected
