"""Introductions (issue 15): the consent ledger, audiences' privacy budget, offers and their deliveries, and the
introduction fee.

- ``consent_events``: the consent ledger, append-only (triggers refuse UPDATE and DELETE). One row per grant or
  withdrawal, per customer, ``purpose`` and ``scope``, with the exact version of the text the customer was shown, the
  time and the channel (``wallet``, ``checkout``, ``api``, ``offer``). Purposes: ``offers`` (scope ``mall:<id>`` or
  ``category:<name>``: hear offers from those merchants), ``share_email`` (scope ``merchant:<id>``: that merchant may
  see my email), ``audience_statistics`` (scope empty: my purchases may count in audience estimates).
- ``consent_state``: each (customer, purpose, scope)'s latest word, written in the same transaction as its event, so
  that "who consents now" is one index range and not a scan of history.
- ``privacy_budgets``: what each merchant spent of its monthly privacy budget (epsilon in thousandths, an integer so
  that sums are exact), raised by a conditional UPDATE that refuses to pass the limit under any interleaving.
- ``audience_releases``: every noisy figure a merchant was given (an estimate or an offer's reach), with its cost.
- ``offers`` and ``offer_deliveries``: what a merchant sent to an audience, and one row per customer it reached, with
  when it was read and how the customer answered. An answered delivery is an introduction.
- ``merchants.intro_fee_bps`` (set by an operator), ``payments.intro_fee_bps`` and ``payments.introduction_offer_id``
  (fixed when an introduced customer pays), and ``intro_fee_returned`` on refunds: the introduction fee is computed
  and returned exactly as the commission is (DESIGN.md section 2).

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_APPEND_ONLY = "kleline: the consent ledger is append-only"

SQLITE_TRIGGERS = {
    "consent_events_immutable": f"""CREATE TRIGGER consent_events_immutable BEFORE UPDATE ON consent_events
       BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
    "consent_events_no_delete": f"""CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
       BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
}
POSTGRES_FUNCTION = f"""CREATE FUNCTION kleline_consent_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'check_violation';
END $$"""
POSTGRES_TRIGGER = """CREATE TRIGGER consent_events_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_events
   FOR EACH STATEMENT EXECUTE FUNCTION kleline_consent_events_immutable()"""


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False, server_default=""),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("text_version", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("action IN ('grant', 'withdraw')", name="ck_consent_events_action"),
        sa.CheckConstraint(
            "purpose IN ('offers', 'share_email', 'audience_statistics')", name="ck_consent_events_purpose"
        ),
        sa.CheckConstraint("channel IN ('wallet', 'checkout', 'api', 'offer')", name="ck_consent_events_channel"),
    )
    op.create_index("ix_consent_events_customer", "consent_events", ["customer_id", "at"])
    op.create_table(
        "consent_state",
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("purpose", sa.String(24), primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("text_version", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("changed_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_consent_state_live", "consent_state", ["purpose", "scope", "granted", "customer_id"])
    op.create_table(
        "privacy_budgets",
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("spent_milli", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("spent_milli >= 0", name="ck_privacy_budgets_spent"),
    )
    op.create_table(
        "audience_releases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("epsilon_milli", sa.Integer, nullable=False),
        sa.Column("released", sa.Integer, nullable=True),
        sa.Column("offer_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("kind IN ('estimate', 'reach')", name="ck_audience_releases_kind"),
        sa.CheckConstraint("epsilon_milli > 0", name="ck_audience_releases_epsilon"),
    )
    op.create_index("ix_audience_releases_merchant", "audience_releases", ["merchant_id", "created_at"])
    op.create_table(
        "offers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.String(2000), nullable=False),
        sa.Column("valid_from", sa.BigInteger, nullable=False),
        sa.Column("valid_until", sa.BigInteger, nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("reach_released", sa.Integer, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("valid_until > valid_from", name="ck_offers_validity"),
    )
    op.create_index("ix_offers_merchant", "offers", ["merchant_id", "created_at"])
    op.create_table(
        "offer_deliveries",
        sa.Column("offer_id", sa.String(40), sa.ForeignKey("offers.id"), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("delivered_at", sa.BigInteger, nullable=False),
        sa.Column("read_at", sa.BigInteger, nullable=True),
        sa.Column("answered_at", sa.BigInteger, nullable=True),
        sa.Column("answer", sa.String(24), nullable=True),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('interested', 'share_email', 'not_interested')",
            name="ck_offer_deliveries_answer",
        ),
    )
    op.create_index("ix_offer_deliveries_inbox", "offer_deliveries", ["customer_id", "delivered_at"])
    op.create_index(
        "ix_offer_deliveries_introductions", "offer_deliveries", ["customer_id", "merchant_id", "answered_at"]
    )
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("intro_fee_bps", sa.Integer, nullable=False, server_default="500"))
        batch.create_check_constraint("ck_merchants_intro_fee_bps", "intro_fee_bps BETWEEN 0 AND 2000")
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("intro_fee_bps", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("introduction_offer_id", sa.String(40), nullable=True))
    for table in ("refunds", "card_refunds"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("intro_fee_returned", sa.BigInteger, nullable=False, server_default="0"))
    if op.get_context().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_events_immutable ON consent_events")
        op.execute("DROP FUNCTION IF EXISTS kleline_consent_events_immutable()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # A plain DROP COLUMN (SQLite 3.35 and later have it): a batch would rebuild these tables from their reflection,
    # which leaves out their expression indexes (ix_payments_merchant_reference, for one).
    for table, column in (
        ("card_refunds", "intro_fee_returned"),
        ("refunds", "intro_fee_returned"),
        ("payments", "introduction_offer_id"),
        ("payments", "intro_fee_bps"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_constraint("ck_merchants_intro_fee_bps", type_="check")
        batch.drop_column("intro_fee_bps")
    op.drop_table("offer_deliveries")
    op.drop_table("offers")
    op.drop_table("audience_releases")
    op.drop_table("privacy_budgets")
    op.drop_table("consent_state")
    op.drop_table("consent_events")
