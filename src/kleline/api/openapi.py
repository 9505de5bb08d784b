"""The OpenAPI document's errors, made to say what the API really answers: RFC 9457 problem documents.

FastAPI documents a ``422`` with its own ``HTTPValidationError`` body on every route that takes input, but Kleline
turns a request that fails validation into a ``400`` ``validation_error`` problem (``kleline.api.problems``), so a
client generated from the document would expect a status and a body it never gets. This rewrites every operation's
error responses once the document is generated:

- FastAPI's ``422`` goes, and with it FastAPI's ``HTTPValidationError`` and ``ValidationError`` schemas;
- the problems a route answers by its shape are added as shared components (``#/components/responses``): ``400``
  where it takes a body or parameters, ``401`` where it takes a key, ``403`` where only one kind of key may call it,
  ``404`` where its path (or a list's ``starting_after`` cursor) names an object, ``409`` where it takes an
  ``Idempotency-Key``, ``413`` where it takes a body (``kleline.api.boundary`` bounds it);
- an error a route declares itself (its ``responses=``) keeps its description and gets the problem body;
- ``default`` names the problem body for any other error (a ``402`` decline, a ``500``);
- an operation only an operator whose role grants a power may call (``api.auth.require_power``) says which, in
  ``x-kleline-power`` and in a sentence of its description, with the roles that have it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from kleline.api.auth import power_of, require_customer, require_merchant, require_operator_or_merchant
from kleline.api.problems import MEDIA_TYPE, TYPE_BASE
from kleline.api.routing import api_routes
from kleline.idempotency import HEADER
from kleline.staff.roles import ROLE_POWERS, Power

__all__ = ["PROBLEM_SCHEMA", "describe_problems", "install"]

Document = dict[str, Any]

_SCHEMA_REF = "#/components/schemas/Problem"
_RESPONSES = "#/components/responses/"
# Dependencies that refuse a valid key of the wrong kind with 403 (optional_operator and require_party take any), as
# do require_power's (each made for its power: power_of finds them).
_ONE_KIND: frozenset[Callable[..., Any]] = frozenset({require_customer, require_merchant, require_operator_or_merchant})
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
CURSOR = "starting_after"  # every list pages on the id of the last object seen, which must exist

PROBLEM_SCHEMA: Document = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem document. `code` is stable and meant for programs; `detail` for people.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [TYPE_BASE + "validation_error"]},
        "title": {"type": "string", "examples": ["Validation error"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "examples": [400]},
        "detail": {"type": "string", "examples": ["email: value is not a valid email address"]},
        "code": {"type": "string", "examples": ["validation_error"]},
        "param": {
            "type": "string",
            "description": "the field or parameter at fault, when one is",
            "examples": ["email"],
        },
    },
    # Some problems carry more members (RFC 9457 extensions), e.g. a card decline's `decline_code`.
    "additionalProperties": True,
}

_SHARED: dict[str, str] = {
    # component name: description (the status codes are _shared_statuses' business)
    "BadRequest": "`validation_error` (`param` names the field, parameter or header; a control character in "
    "any of them is one), or another rule the input breaks",
    "Unauthorized": "`unauthorized`: no valid key or token (the answer carries `WWW-Authenticate: Bearer`)",
    "Forbidden": "`forbidden`: a valid key of a kind that may not make this call, or an operator key whose role "
    "lacks the power it needs",
    "NotFound": "`not_found`: no such object, or one the caller may not see (the answer does not say which)",
    "Conflict": "`idempotency_key_reused` or `idempotency_request_in_progress` (with `Retry-After`), or the request "
    "clashes with what is already recorded",
    "Problem": "any other error, as a problem document (e.g. a `402` decline, a `500`)",
    "PayloadTooLarge": "`payload_too_large`: the body is longer than this route accepts (refused before it is read)",
}


def _content() -> Document:
    return {MEDIA_TYPE: {"schema": {"$ref": _SCHEMA_REF}}}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _one_kind_operations(app: FastAPI) -> set[tuple[str, str]]:
    """``(path, method)`` of every operation that only one kind of key (or operators and merchants) may call."""
    found: set[tuple[str, str]] = set()
    for path, route in api_routes(app):
        if any(call in _ONE_KIND or power_of(call) is not None for call in _calls(route.dependant)):
            found.update((path, method.lower()) for method in route.methods or ())
    return found


def _powers(app: FastAPI) -> dict[tuple[str, str], Power]:
    """``(path, method)`` of every operation an operator needs a power for, and that power."""
    found: dict[tuple[str, str], Power] = {}
    for path, route in api_routes(app):
        for call in _calls(route.dependant):
            power = power_of(call)
            if power is not None:
                found.update(((path, method.lower()), power) for method in route.methods or ())
    return found


def describe_powers(document: Document, powers: dict[tuple[str, str], Power]) -> Document:
    """``document`` with each operator operation's power named (changed in place, and returned)."""
    for (path, method), power in powers.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if not isinstance(operation, dict):
            continue
        roles = [role.value for role, granted in ROLE_POWERS.items() if power in granted]
        operation["x-kleline-power"] = power.value
        sentence = f"Operator keys need the `{power.value}` power (roles: {', '.join(roles)})."
        description = operation.get("description", "").rstrip()
        operation["description"] = f"{description}\n\n{sentence}" if description else sentence
    return document


def _names_an_object(parameter: Document) -> bool:
    """A path parameter, or a list's ``starting_after`` cursor: an id that may name nothing (answered ``404``)."""
    return bool(parameter.get("in") == "path" or (parameter.get("in") == "query" and parameter["name"] == CURSOR))


def _shared_statuses(operation: Document, *, one_kind: bool) -> list[tuple[str, str]]:
    """The ``(status, component)`` pairs an operation answers by its shape."""
    parameters = operation.get("parameters", [])
    wanted = [
        ("400", "BadRequest", "requestBody" in operation or bool(parameters)),
        ("401", "Unauthorized", bool(operation.get("security"))),
        ("403", "Forbidden", one_kind),
        ("404", "NotFound", any(_names_an_object(parameter) for parameter in parameters)),
        ("409", "Conflict", any(parameter.get("name") == HEADER for parameter in parameters)),
        ("413", "PayloadTooLarge", "requestBody" in operation),
        ("default", "Problem", True),
    ]
    return [(status, name) for status, name, applies in wanted if applies]


def _describe_operation(operation: Document, *, one_kind: bool) -> None:
    responses: Document = operation.setdefault("responses", {})
    if "HTTPValidationError" in json.dumps(responses.get("422", {})):
        responses.pop("422")  # FastAPI's; a 422 the route declares itself (`limit_exceeded`) stays
    for status, name in _shared_statuses(operation, one_kind=one_kind):
        responses.setdefault(status, {"$ref": _RESPONSES + name})
    for status, response in responses.items():
        is_error = status == "default" or status.startswith(("4", "5"))
        if is_error and "$ref" not in response:
            response["content"] = _content()  # the route's own description stays; its body is a problem
    ordered = sorted(responses.items(), key=lambda item: (item[0] == "default", item[0]))
    operation["responses"] = dict(ordered)


def describe_problems(document: Document, one_kind: set[tuple[str, str]]) -> Document:
    """``document`` with problem responses in place of FastAPI's 422 (changed in place, and returned)."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _describe_operation(operation, one_kind=(path, method) in one_kind)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    responses = components.setdefault("responses", {})
    for name, description in _SHARED.items():
        responses[name] = {"description": description, "content": _content()}
    responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": 'how to authenticate: `Bearer realm="kleline"`',
        }
    }
    for name in _FASTAPI_SCHEMAS:  # HTTPValidationError first: it is what refers to ValidationError
        if name in schemas:
            schema = schemas.pop(name)
            if f'"#/components/schemas/{name}"' in json.dumps(document):
                schemas[name] = schema  # still referred to (a model of ours by that name): kept
    return document


def install(app: FastAPI) -> None:
    """Rewrite ``app``'s OpenAPI document's errors as problem JSON, once, when it is first asked for.

    Install it after every other rewrite of the document (``api.idempotency`` names the ``Idempotency-Key`` header
    this one reads to document the ``409``).
    """
    generate = app.openapi
    cached: list[Document] = []

    def openapi() -> Document:
        if not cached:
            document = describe_problems(generate(), _one_kind_operations(app))
            cached.append(describe_powers(document, _powers(app)))
        return cached[0]

    app.openapi = openapi  # type: ignore[method-assign]
