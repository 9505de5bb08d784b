"""Introductions and privacy (issue 15): the consent ledger, per-merchant pseudonyms, audiences estimated under
differential privacy, offers delivered to wallets, and the introduction fee's attribution.

A merchant never learns who a customer is unless that customer chose to tell it: every figure about people it is
given is either a noisy count under a privacy budget or something a customer explicitly agreed to share.
"""
