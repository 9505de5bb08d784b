"""Kleline's own staff: their roles and powers, who acted (``actor``), and the append-only audit trail of what they
did (``audit``), in the console, through the API with an ``op_`` key, or at the command line."""
