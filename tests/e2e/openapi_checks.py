"""What the OpenAPI fuzz test holds every answer to: Schemathesis's checks, and one stricter of our own.

Every Kleline operation documents a ``default`` (problem) response, for the errors nobody can foresee: to Schemathesis's
``status_code_conformance`` that makes every status "documented". The document must name each status a route
really answers (a client switches on them), so ``status_code_is_listed`` accepts only a status listed by its number.
"""

from __future__ import annotations

from typing import Any

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

__all__ = ["CHECKS"]


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
