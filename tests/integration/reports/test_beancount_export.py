"""Kleline's books exported to beancount: ``bean-check`` accepts the file, and refuses it once tampered with."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from beancount import loader
from beancount.core.data import Balance, Open, Transaction

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, credit, debit
from kleline.payments.model import PaymentRequest

from ...conftest import FakeClock
from ..payments.conftest import eur, merchant, shopper
from .conftest import pay, pay_out_on_statement, return_payout, send_payout

BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def _realistic_books(kleline: Kleline, clock: FakeClock) -> None:
    """Two shops, purse and card payments, refunds, a card settlement, payouts paid and returned, an unmatched
    bank line in suspense, over two months."""
    shop = merchant(kleline, fee_bps=350)
    other = merchant(kleline, fee_bps=400, name="Fromagerie Vaubourg")
    ada = shopper(kleline, purse=50_000)
    bob = shopper(kleline, email="bob@example.org")
    card = kleline.cards.register(bob.id, "4242424242424242", 12, 2030, "123", "Bob").id
    first = pay(kleline, shop, ada.id, 1250)
    pay(kleline, other, ada.id, 2999)
    carded = kleline.payments.create(shop, PaymentRequest(eur(2500)))
    assert kleline.payments.confirm(carded.id, bob.id, "card", card_id=card).status == "succeeded"
    kleline.refunds.refund(shop, first, eur(500))
    clock.advance(days=1)
    bank = kleline.own_account
    kleline.ledger.post(
        EntryRequest(
            "stl-visa-1",
            (debit(bank.safeguarding_code, eur(2500)), credit("card:visa:receivable", eur(2500))),
            "card settlement",
            {"statement_line": "L7"},
        )
    )
    kleline.ledger.post(
        EntryRequest(
            "sus-1",
            (debit(bank.safeguarding_code, eur(777)), credit("kleline:suspense", eur(777))),
            'unmatched line "REF 42" \\ from\nsomewhere',
            {"statement_line": "L8", "Reason Code": "unknown_reference", "amount": 777, "late": True, "x": None},
        )
    )
    send_payout(kleline, shop, 2000, "po_1")
    pay_out_on_statement(kleline, shop, 2000, "po_1")
    send_payout(kleline, other, 1000, "po_2")
    clock.now = clock.now.replace(month=2, day=2)
    return_payout(kleline, other, 1000, "po_2")


def _export(kleline: Kleline, tmp_path: Path, name: str = "books.beancount") -> Path:
    out = io.StringIO()
    kleline.reports.export_beancount(out)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=120, check=False)


def test_bean_check_accepts_the_books_and_reads_every_entry_and_balance(
    kleline: Kleline, clock: FakeClock, tmp_path: Path
) -> None:
    _realistic_books(kleline, clock)
    path = _export(kleline, tmp_path)
    checked = _bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    entries, problems, _ = loader.load_file(str(path))
    assert problems == []
    with kleline.db.transaction(write=False) as tx:
        count = int(tx.fetchone("SELECT COUNT(*) FROM ledger_entries")[0])
    accounts = kleline.ledger.accounts()
    assert len([e for e in entries if isinstance(e, Transaction)]) == count
    assert len([e for e in entries if isinstance(e, Open)]) == len(accounts)
    assert len([e for e in entries if isinstance(e, Balance)]) == len(accounts)
    suspense = next(e for e in entries if isinstance(e, Transaction) and e.meta["entry"] == "sus-1")
    assert suspense.narration == 'unmatched line "REF 42" \\ from somewhere'
    assert (suspense.meta["meta-Reason-Code"], suspense.meta["amount"], suspense.meta["late"]) == (
        "unknown_reference",
        "777",
        True,
    )


def test_the_same_books_give_the_same_file(kleline: Kleline, clock: FakeClock, tmp_path: Path) -> None:
    _realistic_books(kleline, clock)
    first = _export(kleline, tmp_path, "first.beancount").read_bytes()
    clock.advance(days=30)
    assert _export(kleline, tmp_path, "second.beancount").read_bytes() == first


def test_bean_check_refuses_an_entry_changed_after_export(kleline: Kleline, clock: FakeClock, tmp_path: Path) -> None:
    _realistic_books(kleline, clock)
    path = _export(kleline, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text.count("  Income:Kleline:Commission  -0.44 EUR\n") == 1
    path.write_text(
        text.replace("  Income:Kleline:Commission  -0.44 EUR\n", "  Income:Kleline:Commission  -0.45 EUR\n")
    )
    checked = _bean_check(path)
    assert checked.returncode != 0
    assert "does not balance" in checked.stdout + checked.stderr


def test_bean_check_refuses_a_balance_that_the_entries_do_not_add_up_to(
    kleline: Kleline, clock: FakeClock, tmp_path: Path
) -> None:
    _realistic_books(kleline, clock)
    path = _export(kleline, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    suspense = next(i for i, line in enumerate(lines) if " balance Liabilities:Kleline:Suspense " in line)
    assert lines[suspense].endswith("  -7.77 ~ 0 EUR\n")
    lines[suspense] = lines[suspense].replace("-7.77 ~ 0 EUR", "-7.76 ~ 0 EUR")
    path.write_text("".join(lines), encoding="utf-8")
    checked = _bean_check(path)
    assert checked.returncode != 0
    assert "Balance failed" in checked.stdout + checked.stderr


def test_empty_books_export_to_a_valid_file(kleline: Kleline, tmp_path: Path) -> None:
    checked = _bean_check(_export(kleline, tmp_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
