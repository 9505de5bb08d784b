"""Kleline's own figures for its staff: its growth by month (JSON and CSV) and its safeguarding.

Reading needs the ``read`` power (every role); the CSV file is an export, for roles with the ``export`` power.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import kleline_of, require_power
from kleline.clock import to_rfc3339
from kleline.reports.growth_views import CSV_COLUMNS, growth_csv, growth_json_bytes
from kleline.reports.safeguarding import SafeguardingLine
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

router = APIRouter(tags=["staff reports"])

Reader = Annotated[StaffActor, Depends(require_power(Power.READ))]
Exporter = Annotated[StaffActor, Depends(require_power(Power.EXPORT))]


class RateOut(BaseModel):
    """A month-on-month growth rate: exactly (``ratio``, a fraction), as shown (``percent``, one decimal), and
    whether it reaches the seed's 10 % a month."""

    ratio: str = Field(examples=["1/8"])
    percent: str = Field(examples=["12.5"])
    meets_target: bool


class MerchantsOut(BaseModel):
    """Merchants first approved in the month, and those active at its end (approved, not suspended then)."""

    new: int
    active: int
    growth: RateOut | None


class CustomersOut(BaseModel):
    """Customers who opened a wallet in the month, and all of them at its end."""

    new: int
    total: int
    growth: RateOut | None


class PaymentsOut(BaseModel):
    """Captures booked in the month (every currency), and refunds."""

    count: int
    refunds: int
    growth: RateOut | None


class SalesOut(BaseModel):
    """The month's sales in one currency, in minor units: ``volume`` captured, ``refunded``, ``net_volume`` the
    difference; ``commission`` what Kleline kept (charged less returned)."""

    volume: int
    refunded: int
    net_volume: int
    commission: int
    commission_charged: int
    commission_returned: int
    volume_growth: RateOut | None
    commission_growth: RateOut | None


class MonthOut(BaseModel):
    """One month of Paris; ``complete`` once it is over (else to date). Rates are null after a month with nothing to
    grow from."""

    month: str = Field(examples=["2026-01"])
    complete: bool
    merchants: MerchantsOut
    customers: CustomersOut
    payments: PaymentsOut
    sales: dict[str, SalesOut]


class GrowthOut(BaseModel):
    """Kleline's growth, oldest month first, beside the seed's 10 % a month (``target_growth``)."""

    object: Literal["growth_report"]
    from_: str = Field(alias="from")
    to: str
    timezone: Literal["Europe/Paris"]
    as_of: str
    currencies: list[str]
    target_growth: RateOut
    months: list[MonthOut]


_MONTH_QUERY = "a month of Paris, YYYY-MM"


def forbidden(needs: str) -> dict[int | str, dict[str, Any]]:
    """The ``403`` of an operator route that ``needs`` a power (``"the `read` power"``)."""
    return {
        403: {
            "description": f"`forbidden`: a merchant's or a customer's key, or an operator key whose role lacks {needs}"
        }
    }


_GROWTH_ERRORS: dict[int | str, dict[str, Any]] = {
    **forbidden("the `read` power (or, for CSV, the `export` power)"),
    400: {
        "description": "`validation_error`, `param` naming `from` or `to`: not a month written YYYY-MM, a month "
        "that has not begun, a range that ends before it begins or spans more than 120 months"
    },
}
_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One line per month and currency, oldest first, with a header: "
        + ", ".join(f"`{column}`" for column in CSV_COLUMNS)
        + ". Amounts in major units with a point (`1234.50`), rates as percentages with one decimal (empty when "
        "there is none)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **_GROWTH_ERRORS,
    **forbidden("the `export` power"),
}


def _csv(request: Request, first: str | None, last: str | None) -> Response:
    report = kleline_of(request).growth.report(first, last)
    return Response(
        growth_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kleline-growth-{report.first}-{report.last}.csv"'},
    )


@router.get(
    "/v1/reports/growth",
    response_model=GrowthOut,
    responses={**_GROWTH_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def get_growth(
    request: Request,
    actor: Reader,
    first: Annotated[str | None, Query(alias="from", max_length=7, description=_MONTH_QUERY)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=7, description=_MONTH_QUERY)] = None,
    format: Annotated[
        Literal["json", "csv"], Query(description="json, or csv (an export: the `export` power)")
    ] = "json",
) -> Response:
    """Kleline's growth by month of Paris, from ``from`` to ``to`` (by default the twelve months to this one):
    merchants, customers, payments, volume and commission, each with its month-on-month growth rate beside the
    seed's 10 % a month."""
    if format == "csv":
        actor.require(Power.EXPORT)
        return _csv(request, first, last)
    report = kleline_of(request).growth.report(first, last)
    return Response(growth_json_bytes(report), media_type="application/json")


@router.get("/v1/reports/growth.csv", response_class=Response, responses=_CSV)
def get_growth_csv(
    request: Request,
    _actor: Exporter,
    first: Annotated[str | None, Query(alias="from", max_length=7, description=_MONTH_QUERY)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=7, description=_MONTH_QUERY)] = None,
) -> Response:
    """The growth report as a CSV file (the same as ``GET /v1/reports/growth?format=csv``)."""
    return _csv(request, first, last)


class BalanceLineOut(BaseModel):
    """Accounts in the report: one (``code``) or a group of them (``code`` is their pattern, ``%`` for the party),
    their ``balance`` on their normal side, and, in the explanation, what they add to the difference (``effect``)."""

    kind: str = Field(
        description="safeguarding; purses, merchant_balances; commission, introductions, suspense, in_transit, "
        "card_receivables, "
        "customer_receivables, bad_debt, other"
    )
    code: str
    accounts: int
    balance: int
    effect: int


class CurrencySafeguardingOut(BaseModel):
    """One currency: ``difference = safeguarded - owed``, and ``unexplained = difference - sum of the explanation's
    effects`` (zero when the books balance)."""

    currency: str
    safeguarded: int
    safeguarding_accounts: list[BalanceLineOut]
    owed: int
    owed_lines: list[BalanceLineOut]
    difference: int
    explanation: list[BalanceLineOut]
    unexplained: int
    balanced: bool


class SafeguardingOut(BaseModel):
    """What customers' purses and merchants' balances add up to, per currency, against the safeguarding
    account(s) at the partner bank, with the difference explained: every figure a ledger balance."""

    object: Literal["safeguarding_report"]
    as_of: str
    currencies: list[CurrencySafeguardingOut]


def _line(line: SafeguardingLine) -> BalanceLineOut:
    return BalanceLineOut(
        kind=line.kind, code=line.code, accounts=line.accounts, balance=line.balance, effect=line.effect
    )


@router.get("/v1/safeguarding", response_model=SafeguardingOut, responses=forbidden("the `read` power"))
def get_safeguarding(request: Request, _actor: Reader) -> SafeguardingOut:
    """The safeguarding report, from one snapshot of the books."""
    report = kleline_of(request).safeguarding.report()
    return SafeguardingOut(
        object="safeguarding_report",
        as_of=to_rfc3339(report.as_of),
        currencies=[
            CurrencySafeguardingOut(
                currency=c.currency,
                safeguarded=c.safeguarded,
                safeguarding_accounts=[_line(line) for line in c.safeguarding],
                owed=c.owed_total,
                owed_lines=[_line(line) for line in c.owed],
                difference=c.difference,
                explanation=[_line(line) for line in c.explanation],
                unexplained=c.unexplained,
                balanced=c.balanced,
            )
            for c in report.currencies
        ],
    )
