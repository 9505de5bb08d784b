"""``kleline demo``: demo data (malls, merchants, customers with cards and purses, the demo shop's merchant), and
the processes that show them (Kleline's server, its worker, and the demo shop of ``examples/shop``).

This layer sits above the interfaces it starts and below the command line that calls it.
"""

from kleline.demo.data import DemoCustomer, DemoData, DemoShop, SeedingFailed, seed
from kleline.demo.launch import Addresses, banner, run, shop_directory, start_shop

__all__ = [
    "Addresses",
    "DemoCustomer",
    "DemoData",
    "DemoShop",
    "SeedingFailed",
    "banner",
    "run",
    "seed",
    "shop_directory",
    "start_shop",
]
