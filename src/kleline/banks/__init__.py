"""Talking to card issuers: one ``BankNetwork`` interface, ISO 8583 on the wire, an in-process sandbox of issuers.

Public surface: the interface and its values (``network``), its errors (``errors``), the ISO 8583 implementation
over any transport (``IsoBankNetwork``), the sandbox (``SandboxIssuers`` behind an ``InProcessTransport``, its books
in a ``DatabaseSandboxStore`` or a ``MemorySandboxStore``), the TCP link (``TcpTransport`` to a card network,
``Iso8583Server`` to serve one), the queue of reversals still to send
(``ReversalQueue``), and the stable names of declines for customers (``decline_code``). The message codec stays in
``kleline.banks.messages`` for transports and tests that need the bytes.

    issuers = SandboxIssuers()
    network = IsoBankNetwork(InProcessTransport(issuers))
    network.authorize(CardDetails("4242424242424242", 12, 2034, "123"), Money(1250, "EUR"), "pay_1")
"""

from kleline.banks.acquirer import IsoBankNetwork
from kleline.banks.declines import DECLINE_CODES, GENERIC_DECLINE, decline_code, decline_message
from kleline.banks.errors import (
    AuthorizationClosed,
    BankError,
    CaptureExceedsAuthorization,
    DuplicateReference,
    InvalidAmount,
    InvalidCardDetails,
    IssuerUnavailable,
    IssuerUnreachable,
    MalformedMessage,
    NoAnswer,
    RefundRefused,
    UnexpectedResponse,
    UnknownAuthorization,
)
from kleline.banks.network import (
    APPROVAL_CODES,
    Authorization,
    BankNetwork,
    Capture,
    CardDetails,
    CardRefund,
    CvcResult,
    ResponseCode,
    Reversal,
    Transport,
)
from kleline.banks.reversals import QueuedReversal, ReversalQueue
from kleline.banks.sandbox import (
    DEFAULT_ISSUERS,
    TEST_CARDS,
    BinRange,
    CardholderBalance,
    CardProfile,
    InProcessTransport,
    SandboxIssuer,
    SandboxIssuers,
)
from kleline.banks.sandbox_books import MemorySandboxStore, SandboxStore
from kleline.banks.sandbox_db import DatabaseSandboxStore
from kleline.banks.tcp import TcpTransport
from kleline.banks.tcp_server import Iso8583Server

__all__ = [
    "APPROVAL_CODES",
    "DECLINE_CODES",
    "DEFAULT_ISSUERS",
    "TEST_CARDS",
    "Authorization",
    "AuthorizationClosed",
    "BankError",
    "BankNetwork",
    "BinRange",
    "Capture",
    "CaptureExceedsAuthorization",
    "CardDetails",
    "CardProfile",
    "CardRefund",
    "CardholderBalance",
    "CvcResult",
    "DatabaseSandboxStore",
    "DuplicateReference",
    "GENERIC_DECLINE",
    "InProcessTransport",
    "InvalidAmount",
    "InvalidCardDetails",
    "Iso8583Server",
    "IsoBankNetwork",
    "IssuerUnavailable",
    "IssuerUnreachable",
    "MalformedMessage",
    "MemorySandboxStore",
    "NoAnswer",
    "RefundRefused",
    "QueuedReversal",
    "ResponseCode",
    "Reversal",
    "ReversalQueue",
    "SandboxIssuer",
    "SandboxIssuers",
    "SandboxStore",
    "TcpTransport",
    "Transport",
    "UnexpectedResponse",
    "UnknownAuthorization",
    "decline_code",
    "decline_message",
]
