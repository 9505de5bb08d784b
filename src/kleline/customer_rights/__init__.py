"""A customer's rights over the data Kleline holds about them (GDPR Art. 15, 17 and 20): export and erasure."""
