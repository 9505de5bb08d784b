"""camt.053.001.08 documents written by hand, as another bank would send them: a version other than the one
Kleline's writer uses, batch-booked entries, R-transactions, pending entries, a currency the books do not keep."""

from __future__ import annotations

from xml.sax.saxutils import escape


def entry(
    ref: str,
    amount: str,
    side: str,
    *,
    e2e: str | None = None,
    reason: str | None = None,
    currency: str = "EUR",
    status: str = "BOOK",
    details: list[tuple[str | None, str]] | None = None,
) -> str:
    """One ``Ntry``: ``side`` is CRDT or DBIT; ``details`` are (end-to-end id, amount) of a batch's transactions."""
    transactions = ""
    if details is not None:
        transactions = "".join(
            f"<TxDtls><Refs><EndToEndId>{escape(d_e2e or 'NOTPROVIDED')}</EndToEndId></Refs>"
            f'<Amt Ccy="{currency}">{d_amount}</Amt></TxDtls>'
            for d_e2e, d_amount in details
        )
    elif e2e is not None or reason is not None:
        refs = f"<Refs><EndToEndId>{escape(e2e)}</EndToEndId></Refs>" if e2e is not None else ""
        returned = f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>" if reason is not None else ""
        transactions = f"<TxDtls>{refs}{returned}</TxDtls>"
    family = ("ICDT", "RRTN") if reason else (("RCDT", "ESCT") if side == "CRDT" else ("ICDT", "ESCT"))
    return (
        f'<Ntry><NtryRef>{escape(ref)}</NtryRef><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt><Dt>2026-01-16</Dt></BookgDt><ValDt><Dt>2026-01-16</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(ref)}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family[0]}</Cd><SubFmlyCd>{family[1]}</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd>{f'<NtryDtls>{transactions}</NtryDtls>' if transactions else ''}</Ntry>"
    )


def _balance(code: str, amount: str) -> str:
    side = "DBIT" if amount.startswith("-") else "CRDT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount.lstrip("-")}</Amt>'
        f"<CdtDbtInd>{side}</CdtDbtInd><Dt><Dt>2026-01-16</Dt></Dt></Bal>"
    )


def _statement(statement_id: str, iban: str, entries: list[str], opening: str, closing: str | None) -> str:
    balances = _balance("OPBD", opening) + (_balance("CLBD", closing) if closing is not None else "")
    return (
        f"<Stmt><Id>{escape(statement_id)}</Id><CreDtTm>2026-01-16T18:00:00+00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balances}{''.join(entries)}</Stmt>"
    )


def camt053_v08(
    iban: str,
    entries: list[str],
    *,
    statement_id: str = "STMT-1",
    opening: str = "0.00",
    closing: str | None = None,
    extra_statements: list[tuple[str, list[str]]] | None = None,
) -> bytes:
    """A camt.053.001.08 document of ``iban`` with ``entries`` (and further statements, each with its entries)."""
    statements = _statement(statement_id, iban, entries, opening, closing)
    for other_id, other_entries in extra_statements or []:
        statements += _statement(other_id, iban, other_entries, "0.00", None)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{escape(statement_id)}</MsgId><CreDtTm>2026-01-16T18:00:00+00:00</CreDtTm></GrpHdr>"
        f"{statements}</BkToCstmrStmt></Document>"
    ).encode()
