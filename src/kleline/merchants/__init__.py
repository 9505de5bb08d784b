"""Merchants (registration, approval, API keys) and malls (galleries of merchants).

Public surface: ``Merchants`` and ``Malls`` (the use cases), the values of ``merchants.model`` and the errors of
``merchants.errors``.
"""

from kleline.merchants.errors import (
    CommissionRateChanged,
    IntroFeeRateChanged,
    InvalidBic,
    InvalidIban,
    InvalidMerchant,
    InvalidMerchantKey,
    InvalidSiret,
    InvalidVatNumber,
    MerchantNotActive,
    SlugTaken,
    StatusConflict,
    UnknownKey,
    UnknownMall,
    UnknownMerchant,
)
from kleline.merchants.malls import Malls
from kleline.merchants.model import (
    CATEGORIES,
    DEFAULT_FEE_BPS,
    MAX_FEE_BPS,
    MIN_FEE_BPS,
    Application,
    Mall,
    MallMember,
    Merchant,
    MerchantKey,
    MerchantStatus,
    NewKey,
    balance_account,
    mask_iban,
)
from kleline.merchants.phone import format_phone
from kleline.merchants.service import Merchants

__all__ = [
    "CATEGORIES",
    "DEFAULT_FEE_BPS",
    "MAX_FEE_BPS",
    "MIN_FEE_BPS",
    "Application",
    "CommissionRateChanged",
    "IntroFeeRateChanged",
    "InvalidBic",
    "InvalidIban",
    "InvalidMerchant",
    "InvalidMerchantKey",
    "InvalidSiret",
    "InvalidVatNumber",
    "Mall",
    "MallMember",
    "Malls",
    "Merchant",
    "MerchantKey",
    "MerchantNotActive",
    "MerchantStatus",
    "Merchants",
    "NewKey",
    "SlugTaken",
    "StatusConflict",
    "UnknownKey",
    "UnknownMall",
    "UnknownMerchant",
    "balance_account",
    "format_phone",
    "mask_iban",
]
