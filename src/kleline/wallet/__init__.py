"""The customer's wallet: saved cards (checked, sealed, fingerprinted) and, later, the electronic purse."""
