"""The one boundary for text that comes from the server or the database.

Everything a Pulp server or a PostgreSQL server sends (error texts, catalog
descriptions, test names, task errors, progress messages, NOTIFY payloads stored in a
result) is data. Before it reaches a terminal, a screen or a shared file it goes through
`clean_text` (or `clean` for a whole JSON document): control characters that could move
the cursor, rewrite a line, set the clipboard (OSC 52) or reorder what is shown (BiDi
overrides) are dropped, and the length is bounded. Newline and tab stay.

Screens also show such text as plain `Text`, never as markup: this module removes what a
terminal would obey, not what Rich would parse.
"""

from __future__ import annotations

import re
from typing import Any

# Bound on one string shown or exported (a 10 kB server message is kept; a megabyte one
# is cut and says so).
MAX_TEXT_LENGTH = 8192
TRUNCATION_MARK = "… [cut: {omitted} more characters]"

# C0 controls except \t (09) and \n (0a); DEL; C1 controls (including CSI 9b, OSC 9d,
# ST 9c); the BiDi embedding/override/isolate controls and the marks that reorder text;
# zero-width and line/paragraph separators that can hide or split what is shown.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


# Whole escape sequences go first, so what they carried (an OSC 52 clipboard payload, a
# CSI "erase line") does not linger as visible debris: CSI, OSC/DCS/APC/PM strings
# (up to BEL or ST), and two-character escapes.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x9d\x98\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]",
    re.DOTALL,
)


def clean_text(value: Any, limit: int = MAX_TEXT_LENGTH) -> str:
    """`value` as a string safe to print or show: terminal escape sequences and unsafe
    characters removed (ESC, BEL, NUL, C1, BiDi controls, lone surrogates), at most
    `limit` characters kept."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit and _UNSAFE.search(text) is None:
        return text  # the common case; every escape sequence starts with an unsafe character
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n"))
    text = _UNSAFE.sub("", text)
    if len(text) > limit and not _already_cut(text, limit):
        omitted = len(text) - limit
        text = text[:limit] + TRUNCATION_MARK.format(omitted=omitted)
    return text


_CUT_MARK = re.compile(re.escape(TRUNCATION_MARK).replace(r"\{omitted\}", r"\d+") + r"\Z")


def _already_cut(text: str, limit: int) -> bool:
    # Cleaning twice (the wire models nest) must not cut the first cut's mark.
    mark = _CUT_MARK.search(text)
    return mark is not None and mark.start() <= limit


def clean(value: Any, limit: int = MAX_TEXT_LENGTH) -> Any:
    """A copy of a JSON-like document with every string (keys too) cleaned."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {
            clean_text(k, limit) if isinstance(k, str) else k: clean(v, limit)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean(item, limit) for item in value]
    return value


def is_clean(text: str) -> bool:
    """True when `text` holds nothing `clean_text` would remove (length aside)."""
    return _UNSAFE.search(text) is None


# --- shared files ---------------------------------------------------------------------

# A spreadsheet takes a cell starting with one of these as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates. Numbers stay numbers;
    text starting with a formula character gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    text = clean_text(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


# `_` only opens or closes emphasis at a word's edge: test_6_listen_notify stays readable.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~#&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)(?:([-+](?=\s|$)|>)|(\d+)([.)])(?=\s|$))")


def markdown_text(value: Any) -> str:
    """Text for a Markdown document or table cell: shown literally (no emphasis, links,
    HTML, entities or table breaks), on one line."""
    text = clean_text(value).replace("\n", " ").replace("\t", " ")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A list item, heading underline or quote at the start of a line.
    return _MARKDOWN_BLOCK_START.sub(_escape_block_start, text, count=1)


def _escape_block_start(match: re.Match[str]) -> str:
    indent, marker, number, delimiter = match.groups()
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{delimiter}"
