"""What the people who sign in to Kleline's back-office pages share, whatever their kind: merchant users (the
dashboard, ``kleline.merchant_users``) and staff users (the operator console, ``kleline.staff_users``).

Both kinds keep the same columns on their own users' table (a ``Directory`` names the table, the column that is set
once a person may no longer sign in, and the sessions' table), so that the rules are written once:

- ``lockout``: wrong passwords counted before the password is checked, and the lock they set;
- ``passwords``: the password step, worded and timed alike for an unknown address, a wrong password and a lock;
- ``second_factor``: an authenticator app's code checked against its guard (no code twice, five wrong in a row
  lock the person out for the lockout period);
- ``authenticator_store`` and ``authenticators``: the sealed TOTP secret, its confirmation, its replacement beside
  the confirmed one, its removal, and key rotation;
- ``session_store`` and ``sessions``: sessions by stage (anonymous, second factor awaited, signed in), their tokens
  stored as digests, a new token at each step up.

Each kind keeps a table of its own for its people and its sessions, so that a dashboard session is never mistaken for
a console session (nor either for a shopper's): only the SQL is shared, never a row.

A package of its own, between the wallet (whose password hashing, TOTP functions and sealing it builds on) and the
packages of people, which may not import each other.
"""
