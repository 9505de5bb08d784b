"""PostgreSQL array literals, for statements that write or match many rows at once (``unnest``, ``= ANY``), and the
membership condition built on them (``one_of``), a placeholder per value on SQLite instead.

A batch travels as a few text parameters cast to arrays server-side (``CAST(:ids AS text[])``) rather than as Python
lists adapted by the driver, or one placeholder per value: building the text costs the client less than adapting
the lists, and the server parses it faster than it binds thousands of parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kleline.db.engine import RawTx

__all__ = ["array_literal", "array_of_texts", "one_of"]


def array_literal(values: Iterable[int | str]) -> str:
    """An array literal of ints or plain codes (nothing that needs quoting: no spaces, commas, braces, quotes or
    backslashes, and never the word NULL)."""
    return "{" + ",".join(map(str, values)) + "}"


def array_of_texts(values: Iterable[str]) -> str:
    """An array literal of any texts, each quoted (``_quoted``)."""
    return "{" + ",".join(map(_quoted, values)) + "}"


def _quoted(text: str) -> str:
    """``text`` as an element of an array literal: in double quotes, with quotes and backslashes escaped (so that
    no text, not even "NULL" or one with braces, commas or spaces, reads as anything but itself)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def one_of(tx: RawTx, column: str, values: Sequence[str], name: str, params: dict[str, object]) -> str:
    """The condition that ``column`` is one of ``values`` (texts), its parameters added to ``params`` under
    ``name``: on PostgreSQL one array (a batch's hundreds of placeholders cost the client and the server more to
    bind than the look-up itself), on SQLite a placeholder per value, bound in-process."""
    if tx.is_postgres:
        params[name] = array_of_texts(values)
        return f"{column} = ANY(CAST(:{name} AS text[]))"
    names = [f"{name}{i}" for i in range(len(values))]
    params.update(zip(names, values, strict=True))
    return f"{column} IN ({', '.join(':' + n for n in names)})"
