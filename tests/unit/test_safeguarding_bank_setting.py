"""Kleline's own bank is named once, by its IBAN: the BIC is derived from it when ``KLELINE_SAFEGUARDING_BIC`` is
unset, and a BIC that names another bank than the IBAN's is refused at start (files and ledger accounts would name
the wrong bank)."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from kleline.bootstrap import own_account
from kleline.cli import main
from kleline.config import load_settings

BNP_IBAN = "FR7630004000000000000000151"  # bank code 30004: BNP Paribas, BNPAFRPP
SOCIETE_GENERALE_IBAN = "FR7630003000000005000000167"  # bank code 30003: Société Générale, SOGEFRPP
DEUTSCHE_IBAN = "DE89370400440532013000"  # Commerzbank, COBADEFFXXX (its primary office: COBADEFF)
UNKNOWN_BANK_IBAN = "GB82WEST12345698765432"  # a valid IBAN whose bank no registry knows


@pytest.mark.parametrize(
    ("iban", "bic"),
    [(BNP_IBAN, "BNPAFRPP"), (SOCIETE_GENERALE_IBAN, "SOGEFRPP"), (DEUTSCHE_IBAN, "COBADEFF")],
)
def test_the_bic_is_derived_from_the_iban_when_it_is_not_set(iban: str, bic: str) -> None:
    settings = load_settings(safeguarding_iban=iban)
    assert settings.safeguarding_bic == bic
    own = own_account(settings)
    assert own.bic == bic
    assert own.safeguarding_code == f"bank:{bic}:safeguarding"
    assert own.in_transit_code == f"bank:{bic}:in-transit"


@pytest.mark.parametrize("bic", ["BNPAFRPP", "BNPAFRPPXXX", "bnpafrpp", " BNPA FRPP "])
def test_a_bic_that_names_the_iban_s_bank_is_kept_in_one_form(bic: str) -> None:
    assert load_settings(safeguarding_iban=BNP_IBAN, safeguarding_bic=bic).safeguarding_bic == "BNPAFRPP"


@pytest.mark.parametrize(
    ("iban", "bic"),
    [(BNP_IBAN, "SOGEFRPP"), (SOCIETE_GENERALE_IBAN, "BNPAFRPP"), (DEUTSCHE_IBAN, "DEUTDEFF"), (BNP_IBAN, "BNPADEFF")],
)
def test_a_bic_of_another_bank_than_the_iban_s_is_refused(iban: str, bic: str) -> None:
    with pytest.raises(ValidationError) as refused:
        load_settings(safeguarding_iban=iban, safeguarding_bic=bic)
    [problem] = refused.value.errors()
    assert problem["loc"] == ("safeguarding_bic",)


def test_an_iban_whose_bank_is_unknown_needs_its_bic() -> None:
    with pytest.raises(ValidationError) as refused:
        load_settings(safeguarding_iban=UNKNOWN_BANK_IBAN)
    assert refused.value.errors()[0]["loc"] == ("safeguarding_bic",)
    assert load_settings(safeguarding_iban=UNKNOWN_BANK_IBAN, safeguarding_bic="NWBKGB2L").safeguarding_bic == (
        "NWBKGB2L"
    )


@pytest.mark.parametrize("iban", ["FR7630004000000000000000152", "not an iban", ""])
def test_an_invalid_safeguarding_iban_is_refused_as_a_setting(iban: str) -> None:
    with pytest.raises(ValidationError) as refused:
        load_settings(safeguarding_iban=iban)
    assert ("safeguarding_iban",) in [problem["loc"] for problem in refused.value.errors()]


def test_the_cli_refuses_a_mismatch_with_one_readable_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLELINE_SAFEGUARDING_IBAN", BNP_IBAN)
    monkeypatch.setenv("KLELINE_SAFEGUARDING_BIC", "SOGEFRPP")
    monkeypatch.setattr(sys, "argv", ["kleline", "settle"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("error: KLELINE_SAFEGUARDING_BIC: ")
    assert "BNPAFRPP" in line and "SOGEFRPP" in line
