"""``kleline demo``: demo data (malls, merchants, customers with cards and purses, the demo shop's merchant), and
the processes that show them (Kleline's server, its worker, the demo shop of ``examples/shop``, and the simulated
bank its card traffic goes to).

This layer sits above the interfaces it starts and below the command line that calls it.
"""

from kleline.demo.bank import BankDidNotStart, BankProcess, DemoBank
from kleline.demo.data import DemoCustomer, DemoData, DemoOwner, DemoShop, SeedingFailed, seed
from kleline.demo.launch import Addresses, banner, run, shop_directory, start_shop

__all__ = [
    "Addresses",
    "BankDidNotStart",
    "BankProcess",
    "DemoBank",
    "DemoCustomer",
    "DemoData",
    "DemoOwner",
    "DemoShop",
    "SeedingFailed",
    "banner",
    "run",
    "seed",
    "shop_directory",
    "start_shop",
]
