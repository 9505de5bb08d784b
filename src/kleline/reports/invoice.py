"""The month's commission invoice as PDF (fpdf2): what Kleline charged the merchant, net of what refunds returned,
the introduction fees (issue 15) on lines of their own after the commission.

Deterministic: the same statement, number and date give the same bytes. The document's creation date is the
invoice's date of issue, never the time it was rendered, and the producer is fixed, so fpdf2's file identifier (a
hash of the content and that date) is stable too. The number and the date come from ``reports.numbering``, which
allocates them once from the year's gapless sequence (``KL-2026-000001``) and keeps the rendered bytes.

A month whose refunds gave back more commission than its payments cost totals below zero: the document is then a
credit note (« avoir »), numbered in the same sequence, as French rules allow.

Text is set in the PDF core fonts (Helvetica, WinAnsi encoding): no font file to ship. A character outside
Windows-1252 (a name in another script) prints as ``?``; the invoice's figures never depend on it.

Payment services are exempt from VAT in France (article 261 C 1° of the Code général des impôts), so the invoice
states the exemption and a VAT of zero. The commission was already deducted from each payment before the merchant's
balance was credited: nothing is left to pay, and the invoice says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from kleline.money import Money
from kleline.reports.model import Issuer, MerchantStatement

__all__ = ["VAT_MENTION", "commission_invoice"]

VAT_MENTION: Final = "TVA non applicable : services de paiement exonérés (article 261 C 1° du CGI)."
_WIDTH: Final = 180  # mm of text between the margins of an A4 page
_AMOUNT: Final = 40


def _text(value: str) -> str:
    """``value`` as the core fonts can print it: Windows-1252, anything else as ``?``."""
    return value.encode("cp1252", errors="replace").decode("cp1252")


def _amount(statement: MerchantStatement, minor: int) -> str:
    # French grouping uses a narrow no-break space, which Windows-1252 lacks; a no-break space reads the same.
    return Money(minor, statement.currency).format("fr_FR").replace("\u202f", "\xa0")


def _rate(fee_bps: int | None) -> str:
    if fee_bps is None:
        return "taux inconnu"
    return f"{fee_bps // 100},{fee_bps % 100:02d} %"


def _lines(statement: MerchantStatement) -> list[tuple[str, int]]:
    """The invoice's lines: commission per rate on the month's payments, then what refunds gave back, then the
    introduction fees per rate and what refunds gave back of them."""
    by_rate: dict[int, tuple[int, int, int]] = {}
    for m in statement.movements:
        if m.kind == "payment":
            count, gross, fee = by_rate.get(m.fee_bps if m.fee_bps is not None else -1, (0, 0, 0))
            by_rate[m.fee_bps if m.fee_bps is not None else -1] = (count + 1, gross + m.gross, fee - m.commission)
    lines = []
    for bps, (count, gross, fee) in sorted(by_rate.items()):
        plural = "s" if count > 1 else ""
        lines.append(
            (
                f"Commission {_rate(None if bps < 0 else bps)} sur {count} paiement{plural} "
                f"({_amount(statement, gross)} encaissés)",
                fee,
            )
        )
    refunds = statement.count("refund")
    if refunds:
        plural = "s" if refunds > 1 else ""
        lines.append((f"Commission restituée sur {refunds} remboursement{plural}", -statement.commission_returned))
    lines.extend(_introduction_lines(statement))
    if not lines:
        lines.append(("Aucun paiement encaissé sur la période", 0))
    return lines


def _introduction_lines(statement: MerchantStatement) -> list[tuple[str, int]]:
    """The introduction fees (issue 15) per rate on the payments of customers an offer introduced, then what
    refunds gave back of them; none in a month without introduced payments."""
    by_rate: dict[int, tuple[int, int, int]] = {}
    for m in statement.movements:
        if m.kind == "payment" and m.introduction:
            count, gross, fee = by_rate.get(m.intro_fee_bps, (0, 0, 0))
            by_rate[m.intro_fee_bps] = (count + 1, gross + m.gross, fee - m.introduction)
    lines = []
    for bps, (count, gross, fee) in sorted(by_rate.items()):
        plural = "s" if count > 1 else ""
        lines.append(
            (
                f"Frais d'introduction {_rate(bps)} sur {count} paiement{plural} de clients présentés "
                f"({_amount(statement, gross)} encaissés)",
                fee,
            )
        )
    returned = sum(1 for m in statement.movements if m.kind == "refund" and m.introduction)
    if returned:
        plural = "s" if returned > 1 else ""
        lines.append(
            (f"Frais d'introduction restitués sur {returned} remboursement{plural}", -statement.introductions_returned)
        )
    return lines


def commission_invoice(statement: MerchantStatement, issuer: Issuer, *, number: str, issued: datetime) -> bytes:
    """The commission invoice of a closed month, numbered ``number`` and issued at ``issued``, as PDF bytes."""
    total = statement.commission + statement.introductions
    credit_note = total < 0
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(issued)
    pdf.set_producer("Kleline")
    pdf.set_creator("Kleline")
    pdf.set_author(_text(issuer.name))
    pdf.set_title(f"{'Avoir' if credit_note else 'Facture'} {number}")
    pdf.set_lang("fr-FR")
    pdf.set_margins(15, 15, 15)
    pdf.add_page()

    def row(text: str, *, size: int = 10, style: str = "", amount: str | None = None) -> None:
        pdf.set_font("helvetica", style=style, size=size)
        if amount is None:
            pdf.multi_cell(_WIDTH, 6, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        pdf.cell(_WIDTH - _AMOUNT, 7, _text(text), border="B")
        pdf.cell(_AMOUNT, 7, _text(amount), border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    row(issuer.name, size=14, style="B")
    row(issuer.website)
    pdf.ln(6)
    row("Avoir sur commissions" if credit_note else "Facture de commissions", size=16, style="B")
    row(f"Numéro : {number}")
    row(f"Date : {issued:%d/%m/%Y}")
    row(f"Période : du {statement.month.first_day:%d/%m/%Y} au {statement.month.last_day:%d/%m/%Y}")
    pdf.ln(4)
    row("Client", style="B")
    merchant = statement.merchant
    row(merchant.name)
    if merchant.siret:
        row(f"SIRET : {merchant.siret}")
    row(f"Identifiant Kleline : {merchant.id}")
    row(merchant.email)
    pdf.ln(6)
    row("Désignation", style="B", amount="Montant HT")
    for label, minor in _lines(statement):
        row(label, amount=_amount(statement, minor))
    row("Total HT", style="B", amount=_amount(statement, total))
    row("TVA (0 %)", amount=_amount(statement, 0))
    row("Total TTC", style="B", amount=_amount(statement, total))
    pdf.ln(4)
    row(VAT_MENTION, size=9)
    row(
        "Ces commissions ont été prélevées sur chaque paiement avant le crédit de votre solde : "
        "aucun règlement n'est dû.",
        size=9,
    )
    row(
        f"Chiffre d'affaires encaissé : {_amount(statement, statement.turnover)} ; remboursements : "
        f"{_amount(statement, statement.refunds)} ; virements : {_amount(statement, statement.payouts)}.",
        size=9,
    )
    return bytes(pdf.output())
