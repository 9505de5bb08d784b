"""Merchants (registration, approval, API keys) and malls (galleries of merchants)."""
