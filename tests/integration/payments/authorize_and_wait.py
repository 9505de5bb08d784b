"""A card payment authorised in a process of its own, which then waits to be killed before any capture.

``python -m tests.integration.payments.authorize_and_wait URL EPOCH_US PAYMENT CUSTOMER CARD``: build
Kleline on the database at URL with ``KLELINE_BANK_URL=sandbox:`` (the default), its clock stopped at EPOCH_US (the
parent's), confirm the manual-capture PAYMENT with the CUSTOMER's registered CARD, print ``authorized``
and the payment's status, and wait, until the test kills the process with SIGKILL: no cleanup, nothing left in
memory survives.
"""

from __future__ import annotations

import sys
import time

from kleline.bootstrap import build
from kleline.clock import from_epoch_us
from kleline.config import load_settings


def main(url: str, now_us: int, payment_id: str, customer_id: str, card_id: str) -> None:
    now = from_epoch_us(now_us)
    kleline = build(load_settings(database_url=url, bank_url="sandbox:"), clock=lambda: now)
    payment = kleline.payments.confirm(payment_id, customer_id, "card", card_id=card_id)
    print(f"authorized {payment.status}", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
