"""SEPA files as pure functions between Kleline's values and bytes: pain.001, pain.008 out, camt.053 in."""
