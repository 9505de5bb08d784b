"""The consent ledger: a grant and a withdrawal each append one event with its text version and channel, take
effect at once, and a repeated word appends nothing; a scope that does not fit or does not exist is refused with
nothing written; and history cannot be edited behind the service's back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.privacy import consent_store
from kleline.privacy.consents import Consents
from kleline.privacy.model import InvalidConsent
from kleline.wallet.customers import Customers

from ...conftest import FakeClock
from ..helpers import count_rows


@pytest.fixture
def consents(db: Database, clock: FakeClock) -> Consents:
    return Consents(db, clock=clock)


@pytest.fixture
def ada(db: Database, ledger: Ledger, clock: FakeClock) -> str:
    return Customers(db, ledger, clock=clock).sign_up("ada@example.org", "correct horse battery staple", "Ada").id


def _live(db: Database, customer: str, purpose: str, scope: str) -> bool:
    with db.transaction(write=False) as tx:
        return consent_store.is_live(tx, customer, purpose, scope)


def test_a_withdrawal_takes_effect_at_once_and_each_word_is_recorded_once(
    consents: Consents, db: Database, ada: str, clock: FakeClock
) -> None:
    consents.grant(ada, "offers", "category:books", channel="wallet", language="fr")
    assert _live(db, ada, "offers", "category:books")
    consents.grant(ada, "offers", "category:books", channel="wallet", language="fr")
    clock.advance(minutes=5)
    state = consents.withdraw(ada, "offers", "category:books", channel="api")
    assert not state.granted and not _live(db, ada, "offers", "category:books")
    consents.withdraw(ada, "offers", "category:books", channel="api")
    consents.withdraw(ada, "audience_statistics", channel="wallet")
    history = consents.history(ada)
    assert [(e.action, e.text_version, e.channel) for e in history] == [
        ("grant", "offers-v1/fr", "wallet"),
        ("withdraw", "offers-v1/en", "api"),
    ]
    assert history[1].at - history[0].at == timedelta(minutes=5)
    consents.grant(ada, "offers", "category:books", channel="wallet")
    assert [s.granted for s in consents.states(ada)] == [True]
    assert count_rows(db, "consent_events") == 3


def test_a_new_text_version_is_a_new_grant(consents: Consents, ada: str) -> None:
    consents.grant(ada, "audience_statistics", channel="wallet", language="en")
    consents.grant(ada, "audience_statistics", channel="wallet", language="fr")
    assert [e.text_version for e in consents.history(ada)] == ["audience-statistics-v1/en", "audience-statistics-v1/fr"]


@pytest.mark.parametrize(
    ("purpose", "scope", "says"),
    [
        ("marketing", "", "purpose"),
        ("offers", "", "offers takes mall:<id> or category:<name>"),
        ("offers", "merchant:mer_1", "offers takes"),
        ("offers", "category:weapons", "no category weapons"),
        ("offers", "mall:mall_nowhere", "no mall mall_nowhere"),
        ("share_email", "merchant:mer_nobody", "no merchant mer_nobody"),
        ("audience_statistics", "category:books", "takes no scope"),
    ],
)
def test_a_consent_that_names_nothing_real_is_refused_with_nothing_written(
    consents: Consents, db: Database, ada: str, purpose: str, scope: str, says: str
) -> None:
    with pytest.raises(InvalidConsent, match=says):
        consents.grant(ada, purpose, scope, channel="wallet")
    assert count_rows(db, "consent_events") == count_rows(db, "consent_state") == 0


def test_the_ledger_refuses_to_be_edited_or_shortened(consents: Consents, db: Database, ada: str) -> None:
    consents.grant(ada, "audience_statistics", channel="wallet")
    for statement in ("UPDATE consent_events SET action = 'withdraw'", "DELETE FROM consent_events"):
        with pytest.raises(Exception, match="append-only"), db.transaction() as tx:
            tx.execute(statement)
    assert [e.action for e in consents.history(ada)] == ["grant"]
