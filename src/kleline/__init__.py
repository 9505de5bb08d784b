"""Kleline: a payment intermediary for online shopping.

Layers (arrows point down, checked by import-linter): interfaces (``api``, ``cli``) →
``bootstrap`` → services → ``ledger`` → ground (``money``, ``ids``, ``clock``, ``db``, ``config``).
"""

__version__ = "0.1.0"
