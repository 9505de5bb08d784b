"""A form that moves money is sent once, whatever the clicks: each such form carries a key of its own (a hidden
``form_key``, new each time the form is shown), and its post runs through the same Idempotency-Key records as the
API's ``POST`` (``kleline.idempotency``), in the signed-in customer's own scope.

A second post with the same key (a double click, a reload of the post, the back button) gets the first one's
result instead of a second top-up or repayment; while the first still runs, it is told so. A refusal stores nothing
(the claim is released), so the corrected form may be sent again.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping

from starlette.requests import Request

from kleline.idempotency import StoredResponse, check_key, request_fingerprint
from kleline.web.visits import web_of

__all__ = ["FORM_KEY", "new_form_key", "once"]

FORM_KEY = "form_key"


def new_form_key() -> str:
    """A fresh key for a form about to be shown."""
    return secrets.token_urlsafe(18)


def once(request: Request, customer_id: str, fields: Mapping[str, str], run: Callable[[], str]) -> str:
    """``run()``'s result (an object's id) the first time this form's key is posted, that same result afterwards.

    Raises ``InvalidIdempotencyKey`` for a missing or malformed key, ``IdempotencyKeyReused`` when the key was sent
    with other ``fields``, ``RequestInProgress`` while the first post still runs, and whatever ``run`` raises (then
    nothing is kept)."""
    idempotency = web_of(request).kleline.idempotency
    key = check_key(fields.get(FORM_KEY, ""))
    body = json.dumps({name: value for name, value in fields.items() if name not in ("csrf_token", FORM_KEY)})
    fingerprint = request_fingerprint("POST", request.url.path, "", body.encode())
    claim = idempotency.begin(b"web:" + customer_id.encode(), key, fingerprint)
    if isinstance(claim, StoredResponse):
        return claim.body.decode()
    try:
        result = run()
    except BaseException:
        idempotency.release(claim)
        raise
    idempotency.complete(claim, StoredResponse(200, (), result.encode()))
    return result
