"""What the OpenAPI fuzz test holds every answer to: Schemathesis's checks, and one stricter of our own.

Every Kleline operation documents a ``default`` (problem) response, for the errors nobody can foresee: to Schemathesis's
``status_code_conformance`` that makes every status "documented". The document must name each status a route
really answers (a client switches on them), so ``status_code_is_listed`` accepts only a status listed by its number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from kleline.money import currency_exponent

__all__ = ["CHECKS", "CHECKS_FOR_KNOWN_SERVER_ERROR", "server_error_fixed_elsewhere"]


def status_code_is_listed(ctx: Any, response: Any, case: Any) -> bool | None:
    """The status is one the operation lists explicitly (not only through ``default``)."""
    listed = [code for code in case.operation.responses.status_codes if code != "default"]
    allowed = {str(code) for code in listed}
    status = str(response.status_code)
    if status in allowed or f"{status[0]}XX" in allowed:
        return None
    raise AssertionError(f"{case.operation.label} answered {status}, which it does not list: {', '.join(listed)}")


CHECKS = [
    not_a_server_error,
    status_code_is_listed,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# A 500 of a class fixed elsewhere is still a problem document (the ``default`` response): only its status is let be.
CHECKS_FOR_KNOWN_SERVER_ERROR = [check for check in CHECKS if check not in (not_a_server_error, status_code_is_listed)]


# --- Known, fixed elsewhere ----------------------------------------------------------------------------------------
# Server errors of classes that other branches of issue 10 fix. A 5xx to a request of one of these classes is not held
# against the document here; everything else about the answer still is. Remove each entry once its fix is merged.


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _sent_strings(case: Any) -> Iterator[str]:
    for part in (case.path_parameters, case.query, case.headers, case.body):
        if part is not None and not isinstance(part, bytes):
            yield from _strings(part)
    if isinstance(case.body, bytes):
        yield case.body.decode("latin-1")


def currency_outside_iso4217(case: Any) -> bool:
    """(a) A currency that is not ISO 4217 with minor units (XXX, XAU, ABC) gives a 500."""
    body = case.body
    currency = body.get("currency") if isinstance(body, dict) else None
    if currency is None:
        return False
    try:
        currency_exponent(currency)
    except Exception:
        return True
    return False


def control_characters(case: Any) -> bool:
    """(b) A NUL or another control character in a string, path or query gives a 500 on PostgreSQL."""
    return any(ord(character) < 0x20 or ord(character) == 0x7F for text in _sent_strings(case) for character in text)


KNOWN_ELSEWHERE: list[Callable[[Any], bool]] = [currency_outside_iso4217, control_characters]


def server_error_fixed_elsewhere(case: Any, status: int) -> bool:
    """A 5xx answer to a request of a class another branch fixes."""
    return status >= 500 and any(known(case) for known in KNOWN_ELSEWHERE)
