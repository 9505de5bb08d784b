"""Operators: Kleline staff, who reach the back office with ``op_...`` keys."""
