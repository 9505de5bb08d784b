"""A merchant's statement as a Fichier des Écritures Comptables (FEC, article A47 A-1 of the Livre des procédures
fiscales), for the merchant's accountant to import: the écritures the merchant books for its account at Kleline.

Seen from the merchant's books, journal ``KLE``, one écriture per movement, always balanced:

=================  =================================  ==========================================
movement           debit                              credit
=================  =================================  ==========================================
payment            467000 Kleline (net), 627800 (fee)  411000 Clients (gross)
                   627810 (introduction fee)
refund             411000 Clients (gross)             467000 Kleline (net), 627800 (fee returned)
                                                      627810 (introduction fee returned)
payout             512000 Banque                      467000 Kleline
payout returned    467000 Kleline                     512000 Banque
adjustment         467000 Kleline / 471000 Compte d'attente, by its sign
=================  =================================  ==========================================

The introduction fee (issue 15: a payment by a customer an offer of the merchant introduced) is a line of its own,
on 627810 "Frais d'introduction Kleline", beside the commission and booked as it is.

Once the month's commission invoice is issued (``statement.invoice``), the invoice is the pièce justificative of
the commission: each payment or refund with a fee is then booked as two écritures (three with an introduction fee),
the movement itself (467000 / 411000, gross) and its commission (627800 Dr / 467000 Cr, or the reverse for a fee
given back), and its introduction fee likewise on 627810, the latter with the invoice's number as ``PieceRef`` and
its date of issue as ``PieceDate``. Its ``EcritureDate`` stays the day of
the movement, inside the period the file covers, and the accounts end the month where they did before the issue.
Before the issue the invoice has no number to cite, and the commission stays a line of its movement's écriture.
``EcritureNum`` counts écritures, not movements: ``YYYYMM-00001`` onwards, without a gap.

467 (autres comptes débiteurs ou créditeurs) carries Kleline as an auxiliary account (``CompAuxNum`` KLELINE), so
its balance is what Kleline owes the merchant; 6278 is "autres frais et commissions sur prestations de services".
The layout follows the arrêté: the 18 columns in order, a header line, tab-separated, records ended by CR LF,
ISO 8859-15 text (a character it lacks becomes ``?``), dates YYYYMMDD, amounts with a decimal comma and no
thousands separator, ``Debit`` and ``Credit`` both written (one of them ``0,00``). Amounts are in euros, the
currency of merchants' balances, so ``Montantdevise`` and ``Idevise`` stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from kleline.reports.errors import UnknownFormat
from kleline.reports.model import MerchantStatement, Movement
from kleline.reports.tabular import decimal_text

__all__ = ["COLUMNS", "ENCODING", "MEDIA_TYPE", "file_name", "statement_fec"]

COLUMNS: Final = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
ENCODING: Final = "iso-8859-15"
MEDIA_TYPE: Final = "text/plain; charset=iso-8859-15"
JOURNAL: Final = ("KLE", "Kleline")
KLELINE: Final = ("467000", "Kleline", "KLELINE", "Kleline")
COMMISSION: Final = ("627800", "Commissions Kleline")
INTRODUCTION: Final = ("627810", "Frais d'introduction Kleline")
COUNTERPARTS: Final = {
    "payment": ("411000", "Clients"),
    "refund": ("411000", "Clients"),
    "payout": ("512000", "Banque"),
    "payout_returned": ("512000", "Banque"),
    "adjustment": ("471000", "Compte d'attente"),
}


def file_name(statement: MerchantStatement) -> str:
    """``<SIREN>FEC<YYYYMMDD>.txt`` as the administration names these files (the merchant's id without a SIRET),
    dated by the period's last day."""
    siret = statement.merchant.siret
    who = siret[:9] if siret else statement.merchant.id
    return f"{who}FEC{statement.month.last_day:%Y%m%d}.txt"


def _clean(text: str) -> str:
    # The tab separates fields and CR LF records: neither may appear inside one.
    return " ".join(text.replace("\t", " ").replace("\r", " ").replace("\n", " ").split())


def _label(m: Movement) -> str:
    reference = f" réf. {m.reference}" if m.reference else ""
    if m.kind == "payment":
        return f"Paiement {m.object_id}{reference}"
    if m.kind == "refund":
        return f"Remboursement {m.object_id} du paiement {m.payment_id}{reference}"
    if m.kind == "payout":
        return f"Virement Kleline {m.object_id}"
    if m.kind == "payout_returned":
        return f"Virement Kleline {m.object_id} retourné"
    return f"Régularisation Kleline {m.object_id}: {m.description}"


_Leg = tuple[tuple[str, ...], int]
"""One line of an écriture: its account columns and its signed amount, debit positive."""


@dataclass(frozen=True, slots=True)
class _Ecriture:
    day: date
    piece: str
    piece_day: date
    label: str
    legs: tuple[_Leg, ...]


def _legs(*legs: _Leg) -> tuple[_Leg, ...]:
    return tuple((account, amount) for account, amount in legs if amount)


def _ecritures(statement: MerchantStatement) -> Iterator[_Ecriture]:
    """Each movement's écriture, whose lines sum to zero because ``net = gross + commission + introduction``; once
    the month's invoice is issued, the commission and the introduction fee leave it for écritures of their own whose
    pièce is the invoice."""
    invoice = statement.invoice
    for m in statement.movements:
        day, counterpart = m.posted_at.date(), COUNTERPARTS[m.kind]
        if invoice is None or not (m.commission or m.introduction):
            legs = _legs(
                (KLELINE, m.net), (COMMISSION, -m.commission), (INTRODUCTION, -m.introduction), (counterpart, -m.gross)
            )
            yield _Ecriture(day, m.object_id, day, _label(m), legs)
            continue
        yield _Ecriture(day, m.object_id, day, _label(m), _legs((KLELINE, m.gross), (counterpart, -m.gross)))
        # Dated the day Kleline took (or gave back) the fee, so inside the period; the pièce by its issue.
        if m.commission:
            what = "du paiement" if m.commission < 0 else "rendue sur le remboursement"
            label = f"Commission Kleline {what} {m.object_id}, facture {invoice.number}"
            legs = _legs((KLELINE, m.commission), (COMMISSION, -m.commission))
            yield _Ecriture(day, invoice.number, invoice.issued_at.date(), label, legs)
        if m.introduction:
            what = "du paiement" if m.introduction < 0 else "rendus sur le remboursement"
            label = f"Frais d'introduction Kleline {what} {m.object_id}, facture {invoice.number}"
            legs = _legs((KLELINE, m.introduction), (INTRODUCTION, -m.introduction))
            yield _Ecriture(day, invoice.number, invoice.issued_at.date(), label, legs)


def statement_fec(statement: MerchantStatement) -> bytes:
    """The statement's écritures as FEC bytes (ISO 8859-15)."""
    if statement.currency != "EUR":
        raise UnknownFormat(f"fec: the FEC is kept in euros, this statement is in {statement.currency}")
    lines = ["\t".join(COLUMNS)]
    for number, ecriture in enumerate(_ecritures(statement), start=1):
        day, piece_day = f"{ecriture.day:%Y%m%d}", f"{ecriture.piece_day:%Y%m%d}"
        label, piece = _clean(ecriture.label), _clean(ecriture.piece)
        for account, amount in ecriture.legs:
            number_text, name = account[0], account[1]
            aux_number, aux_name = (account[2], account[3]) if len(account) > 2 else ("", "")
            debit = decimal_text(max(amount, 0), "EUR").replace(".", ",")
            credit = decimal_text(max(-amount, 0), "EUR").replace(".", ",")
            fields = (
                *JOURNAL,
                f"{statement.month.year:04d}{statement.month.month:02d}-{number:05d}",
                day,
                number_text,
                name,
                aux_number,
                aux_name,
                piece,
                piece_day,
                label,
                debit,
                credit,
                "",
                "",
                day,
                "",
                "",
            )
            lines.append("\t".join(fields))
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")
