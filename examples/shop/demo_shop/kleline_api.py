"""The few Kleline calls the shop makes, over HTTP with its secret key: nothing else of Kleline is reachable.

Every POST carries an ``Idempotency-Key`` derived from the order, so that a retry after a timeout (or a double
click) finds the first payment or refund instead of making a second one.
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

__all__ = ["KlelineApi", "KlelineApiError"]


class KlelineApiError(Exception):
    """Kleline refused the call (a problem document) or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class KlelineApi:
    """A thin client of Kleline's public API for one merchant."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def create_payment(
        self, *, amount: int, currency: str, description: str, reference: str, return_url: str, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /v1/payments``: a payment waiting for its customer, with its ``checkout_url``."""
        body = {
            "amount": amount,
            "currency": currency,
            "description": description,
            "reference": reference,
            "return_url": return_url,
        }
        return await self._call("POST", "/v1/payments", json=body, headers={"Idempotency-Key": idempotency_key})

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        """``GET /v1/payments/{id}``: the payment as Kleline knows it now."""
        return await self._call("GET", f"/v1/payments/{payment_id}")

    async def refund(self, payment_id: str, *, idempotency_key: str) -> dict[str, Any]:
        """``POST /v1/refunds``: refund what is left of a captured payment."""
        return await self._call(
            "POST", "/v1/refunds", json={"payment_id": payment_id}, headers={"Idempotency-Key": idempotency_key}
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise KlelineApiError(f"Kleline cannot be reached: {error}") from None
        if response.is_success:
            answer: dict[str, Any] = response.json()
            return answer
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        detail = problem.get("detail") or response.reason_phrase
        raise KlelineApiError(f"Kleline refused: {detail}", status=response.status_code, code=problem.get("code"))
