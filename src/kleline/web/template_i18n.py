"""The templates' ``{% trans %}`` blocks, translated once when a template is compiled rather than at every page.

Each language has its own Jinja2 environment (``kleline.web.rendering``), so a template is compiled once per
language and its fixed texts can be looked up in that language's catalog then. Jinja2's own i18n extension turns every
block into a call of the newstyle ``gettext`` at render time, about 7 us each (the context's call, the ``Markup``, the
``%`` formatting), and a dashboard page holds some thirty of them: a tenth of its rendering.

Only blocks with no placeholder, no plural and no context are folded, and to exactly what the newstyle call returns:
the translation, formatted with no variables (``%%`` becomes ``%``, as Jinja2 doubles every ``%`` of a block), and
marked safe where autoescaping is on (a catalog's text is markup, as the runtime call treats it). Blocks with
placeholders keep the runtime call, which escapes their values. Likewise ``_('text')`` in an expression (an
``aria-label``, a list of links): a call with one literal and nothing else becomes ``('translation' | safe)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.ext import InternationalizationExtension
from jinja2.lexer import Token, TokenStream

__all__ = ["CompiledTranslations", "translate_when_compiled"]


class CompiledTranslations(InternationalizationExtension):
    """Jinja2's i18n extension, folding the fixed ``{% trans %}`` blocks at compile time (see the module)."""

    def _make_node(
        self,
        singular: str,
        plural: str | None,
        context: str | None,
        variables: dict[str, nodes.Expr],
        plural_expr: nodes.Expr | None,
        vars_referenced: bool,
        num_called_num: bool,
    ) -> nodes.Output:
        translate: Callable[[str], str] | None = getattr(self.environment, "translate_when_compiled", None)
        if translate is None or plural is not None or context is not None or variables:
            return super()._make_node(
                singular, plural, context, variables, plural_expr, vars_referenced, num_called_num
            )
        return nodes.Output([nodes.MarkSafeIfAutoescape(nodes.Const(translate(singular) % {}))])

    def filter_stream(self, stream: TokenStream) -> TokenStream | Any:
        translate: Callable[[str], str] | None = getattr(self.environment, "translate_when_compiled", None)
        if translate is None:
            return stream
        return TokenStream(_folded_calls(stream, translate), stream.name, stream.filename)


_CALLS = frozenset({"_", "gettext"})


def _folded_calls(stream: TokenStream, translate: Callable[[str], str]) -> Any:
    """The tokens of ``stream``, each ``_('literal')`` or ``gettext('literal')`` replaced by its translation (an
    object's method of that name, ``x._('literal')``, left as it is)."""
    held: list[Token] = []
    previous = ""  # the type of the last token passed on
    for token in stream:
        held.append(token)
        shape = [t.type for t in held]
        call = held[0].value in _CALLS and previous != "dot"
        if call and shape == ["name", "lparen", "string", "rparen"][: len(held)]:
            if len(held) == 4:
                line, text = held[0].lineno, translate(held[2].value) % {}
                yield from (
                    Token(line, "lparen", "("),
                    Token(line, "string", text),
                    Token(line, "pipe", "|"),
                    Token(line, "name", "safe"),
                    Token(line, "rparen", ")"),
                )
                held, previous = [], "rparen"
            continue
        # Not such a call: what was held goes on as it was (its last token may begin another call).
        *earlier, last = held
        yield from earlier
        previous = earlier[-1].type if earlier else previous
        held = [last] if last.type == "name" and last.value in _CALLS and previous != "dot" else []
        if not held:
            yield last
            previous = last.type
    yield from held


def translate_when_compiled(environment: Any, gettext: Callable[[str], str]) -> None:
    """Have ``environment`` (built with ``CompiledTranslations``) fold its fixed blocks with ``gettext``, the same
    catalog its runtime ``gettext`` is bound to."""
    environment.extend(translate_when_compiled=gettext)
