"""What a customer chose to tell a merchant: the email, while the customer's ``share_email`` consent to that merchant
lives. Each read is one lookup on ``consent_state``'s primary key (customer, purpose, scope) joined to the customer's
row, made when the merchant looks, never copied: a withdrawal holds from the next read on."""

from __future__ import annotations

from collections.abc import Sequence

from kleline.db.engine import RawTx
from kleline.privacy.model import merchant_scope

__all__ = ["customers_sharing_email", "shared_email", "shared_emails"]

_LIVE = "JOIN consent_state s ON s.customer_id = c.id AND s.purpose = 'share_email' AND s.scope = :scope AND s.granted"


def shared_email(tx: RawTx, merchant_id: str, customer_id: str) -> str | None:
    """The customer's email if they share it with the merchant now, else None."""
    row = tx.fetchone(
        f"SELECT c.email FROM customers c {_LIVE} WHERE c.id = :customer",
        {"scope": merchant_scope(merchant_id), "customer": customer_id},
    )
    return None if row is None else str(row[0])


def shared_emails(tx: RawTx, merchant_id: str, customer_ids: Sequence[str]) -> dict[str, str]:
    """``shared_email`` for many customers at once (a page of payments): one query, customers who share only."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    names = {f"c{i}": customer for i, customer in enumerate(wanted)}
    rows = tx.fetchall(
        f"SELECT c.id, c.email FROM customers c {_LIVE} WHERE c.id IN ({', '.join(':' + n for n in names)})",
        {"scope": merchant_scope(merchant_id), **names},
    )
    return {str(row[0]): str(row[1]) for row in rows}


def customers_sharing_email(tx: RawTx, merchant_id: str, email: str) -> tuple[str, ...]:
    """The customers whose email is ``email`` (compared lower-cased, as it is stored) and who share it with the
    merchant now: a merchant searching by email finds no one who did not tell it, so it cannot probe who paid."""
    rows = tx.fetchall(
        f"SELECT c.id FROM customers c {_LIVE} WHERE c.email = :email",
        {"scope": merchant_scope(merchant_id), "email": email.strip().lower()},
    )
    return tuple(str(row[0]) for row in rows)
