"""Signed receipts (Ed25519) for captured payments and refunds, verifiable offline.

Public surface: ``Receipts`` (issue, get, public keys), the document (``Receipt``, ``canonical_bytes``), the keys
(``SigningKeys``, ``PublicKeys``) and ``verify``, with the errors of ``signing``.
"""

from kleline.receipts.model import MalformedReceipt, Receipt, ReceiptError, ReceiptKind, canonical_bytes, loads_strict
from kleline.receipts.service import Receipts
from kleline.receipts.signing import (
    BadSignature,
    InvalidPublicKeys,
    InvalidSigningKeyConfig,
    PublicKey,
    PublicKeys,
    Signature,
    SignedReceipt,
    SigningKeys,
    UnknownSigningKey,
    generate_signing_key,
    verify,
)

__all__ = [
    "BadSignature",
    "InvalidPublicKeys",
    "InvalidSigningKeyConfig",
    "MalformedReceipt",
    "PublicKey",
    "PublicKeys",
    "Receipt",
    "ReceiptError",
    "ReceiptKind",
    "Receipts",
    "Signature",
    "SignedReceipt",
    "SigningKeys",
    "UnknownSigningKey",
    "canonical_bytes",
    "generate_signing_key",
    "loads_strict",
    "verify",
]
