"""Audiences' SQL: who the members are (one statement, counted or listed), the privacy budget, the releases.

``members`` is the single definition of an audience: the estimate counts it (``count_members``: one ``COUNT``), an
offer inserts one delivery per row of it (``INSERT ... SELECT``), and the benchmark times the same statement alone.
It reads the consents' current state only (``consent_state``), so that a withdrawal excludes a customer from the next
statement on.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.privacy.audience_model import LOOKBACK, RECENCY_BANDS, SPEND_BANDS, Audience, Budget

__all__ = ["budget_of", "count_members", "count_sql", "insert_release", "members", "spend"]

PURCHASE_CURRENCY = "EUR"


def members(scopes: list[str], audience: Audience, now: datetime) -> tuple[str, dict[str, Any]]:
    """``SELECT customer_id ...`` of the audience's members, one row each, for a merchant whose offers consents
    would cover ``scopes`` (``mall:<id>`` of its malls, ``category:<its category>``)."""
    params: dict[str, Any] = {}
    if scopes:
        names = [f"scope{i}" for i in range(len(scopes))]
        params.update(zip(names, scopes, strict=True))
        scope_test = f"o.scope IN ({', '.join(':' + name for name in names)})"
    else:
        scope_test = "1 = 0"  # a merchant in no mall and of no category is covered by no consent
    consented = f"SELECT o.customer_id FROM consent_state o WHERE o.purpose = 'offers' AND o.granted AND {scope_test}"
    if not audience.uses_purchases:
        return consented.replace("SELECT o.customer_id", "SELECT DISTINCT o.customer_id", 1), params
    params.update(since=epoch_us(now - LOOKBACK), currency=PURCHASE_CURRENCY)
    where = [
        f"p.customer_id IN ({consented})",
        "p.customer_id IN (SELECT s.customer_id FROM consent_state s WHERE s.purpose = 'audience_statistics' "
        "AND s.scope = '' AND s.granted)",
        "p.created_at >= :since",
        "p.amount_captured > 0",
        "p.currency = :currency",
    ]
    if audience.category is not None:
        where.append("p.merchant_id IN (SELECT c.id FROM merchants c WHERE c.category = :category)")
        params["category"] = audience.category
    if audience.mall_id is not None:
        where.append("p.merchant_id IN (SELECT mm.merchant_id FROM mall_merchants mm WHERE mm.mall_id = :mall)")
        params["mall"] = audience.mall_id
    having = []
    if audience.spend is not None:
        low, high = SPEND_BANDS[audience.spend]
        having.append("SUM(p.amount_captured - p.amount_refunded) >= :spend_low")
        params["spend_low"] = low
        if high is not None:
            having.append("SUM(p.amount_captured - p.amount_refunded) < :spend_high")
            params["spend_high"] = high
    if audience.recency is not None:
        having.append("MAX(p.created_at) >= :recent")
        params["recent"] = epoch_us(now - timedelta(days=RECENCY_BANDS[audience.recency]))
    sql = f"SELECT p.customer_id FROM payments p WHERE {' AND '.join(where)} GROUP BY p.customer_id"
    if having:
        sql += f" HAVING {' AND '.join(having)}"
    return sql, params


def count_sql(scopes: list[str], audience: Audience, now: datetime) -> tuple[str, dict[str, Any]]:
    """The one ``COUNT`` of the audience's members."""
    sql, params = members(scopes, audience, now)
    return f"SELECT COUNT(*) FROM ({sql}) AS members", params


def count_members(tx: RawTx, scopes: list[str], audience: Audience, now: datetime) -> int:
    """How many customers the audience holds now (exact: never shown to a merchant as such)."""
    sql, params = count_sql(scopes, audience, now)
    return int(tx.fetchone(sql, params)[0])


def spend(tx: RawTx, merchant_id: str, month: str, cost_milli: int, limit_milli: int) -> int | None:
    """Take ``cost_milli`` from the merchant's budget of ``month``; the new total spent, or None if it would pass
    ``limit_milli`` (nothing taken). One conditional UPDATE: concurrent spenders queue on the row and each sees the
    others' total, so that no interleaving spends past the limit."""
    tx.execute(
        "INSERT INTO privacy_budgets (merchant_id, month, spent_milli) VALUES (:merchant, :month, 0) "
        "ON CONFLICT (merchant_id, month) DO NOTHING",
        {"merchant": merchant_id, "month": month},
    )
    row = tx.fetchone(
        "UPDATE privacy_budgets SET spent_milli = spent_milli + :cost WHERE merchant_id = :merchant AND month = :month "
        "AND spent_milli + :cost <= :limit RETURNING spent_milli",
        {"merchant": merchant_id, "month": month, "cost": cost_milli, "limit": limit_milli},
    )
    return None if row is None else int(row[0])


def budget_of(tx: RawTx, merchant_id: str, month: str, limit_milli: int, cost_milli: int) -> Budget:
    """The merchant's budget of ``month`` as it stands."""
    row = tx.fetchone(
        "SELECT spent_milli FROM privacy_budgets WHERE merchant_id = :merchant AND month = :month",
        {"merchant": merchant_id, "month": month},
    )
    return Budget(month, 0 if row is None else int(row[0]), limit_milli, cost_milli)


def insert_release(
    tx: RawTx,
    release_id: str,
    merchant_id: str,
    month: str,
    kind: str,
    audience: Audience,
    epsilon_milli: int,
    released: int | None,
    at: datetime,
    offer_id: str | None = None,
) -> None:
    """Record a noisy figure given to a merchant, with what it cost."""
    tx.execute(
        "INSERT INTO audience_releases (id, merchant_id, month, kind, audience, epsilon_milli, released, offer_id, "
        "created_at) VALUES (:id, :merchant, :month, :kind, :audience, :epsilon, :released, :offer, :at)",
        {
            "id": release_id,
            "merchant": merchant_id,
            "month": month,
            "kind": kind,
            "audience": json.dumps(audience.as_dict(), sort_keys=True),
            "epsilon": epsilon_milli,
            "released": released,
            "offer": offer_id,
            "at": epoch_us(at),
        },
    )
