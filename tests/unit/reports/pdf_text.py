"""Reading back the text a PDF written by fpdf2 shows, without a PDF library: its page streams are deflated
content streams whose text operators are ``(...) Tj``."""

from __future__ import annotations

import re
import zlib

__all__ = ["pdf_text"]

# A stream's bytes are read by its /Length, not up to "endstream": deflated data may itself end in a carriage return,
# which a pattern would take for the line break before "endstream" (a truncated stream, now and then).
_STREAM = re.compile(rb"/Length (\d+)\b[^>]*>>\s*stream\r?\n", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def pdf_text(pdf: bytes) -> str:
    """The text a PDF shows, read from its page streams: one line per text operator (core fonts, Windows-1252)."""
    lines = []
    for stream in _STREAM.finditer(pdf):
        content = zlib.decompress(pdf[stream.end() : stream.end() + int(stream.group(1))])
        for shown in _SHOWN.finditer(content):
            raw = re.sub(rb"\\(.)", rb"\1", shown.group(1))
            lines.append(raw.decode("cp1252"))
    return "\n".join(lines)
