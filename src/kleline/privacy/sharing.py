"""What a customer chose to tell a merchant: the email, while the customer's ``share_email`` consent to that merchant
lives. Each read asks ``consent_state`` (its primary key: customer, purpose, scope) who shares now, then opens only
those customers' sealed emails; made when the merchant looks, never copied: a withdrawal holds from the next read on.
"""

from __future__ import annotations

from collections.abc import Sequence

from kleline.db.engine import RawTx
from kleline.privacy.model import merchant_scope
from kleline.wallet import store as customer_store
from kleline.wallet.personal_data import PersonalDataKeys

__all__ = ["customers_sharing_email", "shared_emails", "sharing_customers"]


def sharing_customers(tx: RawTx, merchant_id: str, customer_ids: Sequence[str]) -> list[str]:
    """Those of ``customer_ids`` whose share_email consent to the merchant lives now: one query."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return []
    names = {f"c{i}": customer for i, customer in enumerate(wanted)}
    rows = tx.fetchall(
        "SELECT customer_id FROM consent_state WHERE purpose = 'share_email' AND scope = :scope AND granted "
        f"AND customer_id IN ({', '.join(':' + n for n in names)})",
        {"scope": merchant_scope(merchant_id), **names},
    )
    return [str(row[0]) for row in rows]


def shared_emails(tx: RawTx, merchant_id: str, customer_ids: Sequence[str], keys: PersonalDataKeys) -> dict[str, str]:
    """The emails the customers share with the merchant now, by customer id (a page of payments: two queries);
    a customer whose data was shredded has none left to share."""
    sharing = sharing_customers(tx, merchant_id, customer_ids)
    found = customer_store.find_customers(tx, sharing, keys)
    return {row.customer.id: row.customer.email for row in found if row.customer.email}


def customers_sharing_email(tx: RawTx, merchant_id: str, email_index: str) -> tuple[str, ...]:
    """The customers whose email has this blind index and who share it with the merchant now: a merchant searching
    by email finds no one who did not tell it, so it cannot probe who paid."""
    rows = tx.fetchall(
        "SELECT c.id FROM customers c JOIN consent_state s ON s.customer_id = c.id AND s.purpose = 'share_email' "
        "AND s.scope = :scope AND s.granted WHERE c.email_index = :index",
        {"scope": merchant_scope(merchant_id), "index": email_index},
    )
    return tuple(str(row[0]) for row in rows)
