import re
from datetime import datetime

import pytest

from kleline.sepa import OwnAccount, SepaFileInvalid, read_credit_transfers, validate_pain, write_credit_transfers
from kleline.sepa.model import CreditTransfer

from .conftest import payout


@pytest.fixture
def pain001(own_account: OwnAccount, created_at: datetime) -> bytes:
    transfers: list[CreditTransfer] = [payout(1), payout(2)]
    return write_credit_transfers(
        own_account, transfers, message_id="sr_1", created_at=created_at, execution_date=created_at.date()
    )


def test_a_schema_violation_says_on_which_line_and_element(pain001: bytes) -> None:
    broken = pain001.replace(b"<IBAN>DE89370400440532013000</IBAN>", b"<IBAN>de89</IBAN>", 2)

    with pytest.raises(SepaFileInvalid) as refused:
        validate_pain(broken)

    error = refused.value
    assert error.path == "Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf[1]/CdtrAcct/Id/IBAN"
    assert error.line == pain001[: pain001.index(b"DE89370400440532013000")].count(b"\n") + 1
    assert "'de89' is not accepted by the pattern '[A-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30}'" in error.detail
    assert "(and 1 more)" in error.detail
    assert error.extensions() == {"line": error.line, "path": error.path}


def test_a_missing_element_is_named(pain001: bytes) -> None:
    broken = pain001.replace(b"<MsgId>sr_1</MsgId>", b"")

    with pytest.raises(SepaFileInvalid, match=r"GrpHdr/CreDtTm: Element 'CreDtTm': This element is not expected"):
        validate_pain(broken)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"", "the file is empty"),
        (b"<Document", "not well-formed XML"),
        (b"\xff\xfe<a/>", "not well-formed XML"),
        (b"<Document/>", "not a pain file we know: root <Document> in namespace '(none)'"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"/>',
            "namespace 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.03'",
        ),
        (b'<Other xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>', "root <Other>"),
    ],
)
def test_bytes_that_are_not_a_pain_file_are_refused_with_the_reason(xml: bytes, message: str) -> None:
    with pytest.raises(SepaFileInvalid, match=re.escape(message)):
        validate_pain(xml)


def test_external_entities_are_never_fetched(tmp_path: object) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">&secret;</Document>'
    )

    with pytest.raises(SepaFileInvalid, match="a DOCTYPE is not allowed"):
        read_credit_transfers(xxe)


def test_an_entity_expansion_bomb_is_refused_without_expanding_it() -> None:
    entities = "".join(f'<!ENTITY e{n} "&e{n - 1};&e{n - 1};&e{n - 1};&e{n - 1};">' for n in range(1, 30))
    bomb = f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY e0 "boom">{entities}]><Document>&e29;</Document>'

    with pytest.raises(SepaFileInvalid, match="DOCTYPE"):
        validate_pain(bomb.encode())


def test_a_file_above_the_size_limit_is_refused_before_it_is_parsed(pain001: bytes) -> None:
    with pytest.raises(SepaFileInvalid, match=f"the file is {len(pain001)} bytes, more than the 1000-byte limit"):
        validate_pain(pain001, max_bytes=1000)

    assert validate_pain(pain001, max_bytes=len(pain001)) == "pain.001.001.03"


def test_text_is_read_from_bytes_only() -> None:
    with pytest.raises(TypeError, match="XML is read from bytes, not str"):
        validate_pain("<Document/>")  # type: ignore[arg-type]
