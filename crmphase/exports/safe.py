"""Formula-injection safety for spreadsheet exports (OWASP "CSV Injection").

Pure: no Flask, no database. A text that begins with ``=``, ``+``, ``-``, ``@``, a tab, a
carriage return or NUL may be run as a formula by a spreadsheet. Such texts are written
as inert text: in CSV with a leading apostrophe, in XLSX as a string cell with Excel's
"quote prefix" flag (the value itself is kept, so people read what was typed). Numbers
are never touched: a negative amount stays a number.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
_TRIGGERS = frozenset(FORMULA_TRIGGERS)

# Characters that XML 1.0 (and so XLSX) cannot hold at all; CSV readers choke on them too.
# Tab, line feed and carriage return are legal and kept.
_ILLEGAL_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    return bool(text) and text[0] in FORMULA_TRIGGERS


def is_plain_text(text: str) -> bool:
    """Whether ``text`` goes into a spreadsheet unchanged: it does not start like a formula
    and holds no control character a file cannot store. The writers' fast path: most
    texts are plain, and only the others need :func:`strip_control` and a second look."""
    return text[:1] not in _TRIGGERS and _ILLEGAL_CONTROL.search(text) is None


def strip_control(text: str) -> str:
    """``text`` without the control characters a spreadsheet file cannot store."""
    return _ILLEGAL_CONTROL.sub("", text)


def needs_neutralising(text: str) -> bool:
    """Dangerous before or after the control characters are removed ("\\0=cmd" is)."""
    return is_formula_like(text) or is_formula_like(strip_control(text))


def csv_text(text: str) -> str:
    """A text as it goes into a CSV cell: control characters removed, and a leading
    apostrophe when a spreadsheet could take it for a formula."""
    if is_plain_text(text):
        return text
    clean = strip_control(text)
    return "'" + clean if needs_neutralising(text) else clean


def xlsx_text(text: str) -> tuple[str, bool]:
    """A text as it goes into an XLSX cell, and whether it must be forced to inert text."""
    if is_plain_text(text):
        return text, False
    return strip_control(text), needs_neutralising(text)
