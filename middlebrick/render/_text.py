"""Make target-controlled text safe for a terminal: no escape sequences, no control characters.

A hostile target controls response excerpts, headers, paths and spec titles. Before any of it
reaches a renderer that writes to a terminal it goes through ``clean`` (strips ANSI/OSC escape
sequences, C0/C1 control characters and bidirectional overrides) and, where a string is parsed
as rich markup, ``markup`` (``clean`` then ``rich.markup.escape``).
"""

from __future__ import annotations

import re

from rich.markup import escape

__all__ = ["clean", "flatten", "markup", "one_line", "shorten"]

_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                 # CSI: colours, cursor moves, erase
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC: titles, hyperlinks (BEL or ST ended)
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?           # DCS, SOS, PM, APC strings
  | \x1b[ -/]*[0-~]?                        # any other escape, and a lone ESC
  | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
    """,
    re.VERBOSE,
)
# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """The text without escape sequences and control characters; tabs and newlines kept."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def flatten(text: str) -> str:
    """``clean`` text with every run of whitespace (newlines included) made one space."""
    return _SPACE.sub(" ", clean(text))


def one_line(text: str) -> str:
    """``flatten`` text without leading and trailing spaces."""
    return flatten(text).strip()


def shorten(text: str, limit: int) -> str:
    """``one_line`` text cut to at most ``limit`` characters, an ellipsis marking the cut."""
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def markup(text: str) -> str:
    """``clean`` text escaped so that rich prints it literally inside a markup string."""
    return escape(clean(text))
