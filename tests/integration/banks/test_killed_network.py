"""The card network is a process of its own, killed while it holds an authorisation: the payment fails, the
reversal is queued, and once the network is back the worker's sweep delivers it."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.payments.model import Payment, PaymentRequest
from kleline.worker.sweeps import retry_reversals

from ...conftest import FakeClock
from ..payments.conftest import eur, merchant, shopper

# The network process: the sandbox issuers behind Iso8583Server; "slow" keeps every authorisation of an amount
# waiting (after saying so on stdout), so that the test can kill the process in the middle of it.
NETWORK = """
import sys, time
from kleline.banks import Iso8583Server, SandboxIssuers
from kleline.banks.messages import AuthorizationRequest, decode_request

issuers = SandboxIssuers()
slow = sys.argv[2] == "slow"

def handle(request):
    message = decode_request(request)
    if slow and isinstance(message, AuthorizationRequest) and message.amount.minor > 0:
        print("authorising", flush=True)
        time.sleep(60)
    return issuers.handle(request)

server = Iso8583Server(handle, "127.0.0.1", int(sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextmanager
def network_process(port: int, mode: str) -> Iterator[subprocess.Popen[str]]:
    """The network in its own process on ``port`` (0: a free one, printed first); killed on the way out."""
    process = subprocess.Popen([sys.executable, "-c", NETWORK, str(port), mode], stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_killing_the_network_mid_authorisation_fails_the_payment_and_the_sweep_reverses_it_later(
    database_url: str, clock: FakeClock
) -> None:
    with network_process(0, "slow") as first:
        assert first.stdout is not None
        port = int(first.stdout.readline())
        settings = load_settings(
            database_url=database_url, bank_url=f"iso8583://127.0.0.1:{port}", bank_timeout_seconds=30
        )
        kleline: Kleline = build(settings, clock=clock)
        try:
            open_system_accounts(kleline)
            shop = merchant(kleline)
            ada = shopper(kleline)
            card = kleline.cards.register(ada.id, "4242424242424242", 12, 2030, "123", "Ada Lovelace").id
            payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
            outcome: list[Payment] = []
            confirming = threading.Thread(
                target=lambda: outcome.append(kleline.payments.confirm(payment.id, ada.id, "card", card_id=card))
            )
            confirming.start()
            assert first.stdout.readline().strip() == "authorising"
            first.kill()  # with the authorisation inside it
            confirming.join(timeout=20)
            assert [(p.status, p.failure_code) for p in outcome] == [("failed", "issuer_unavailable")]
            (queued,) = kleline.reversals.pending()
            assert queued.open and queued.reason == "no_answer"

            assert retry_reversals(kleline) == 0  # the network is still down
            with network_process(port, "fast") as second:
                assert second.stdout is not None and int(second.stdout.readline()) == port
                clock.advance(seconds=11)
                assert retry_reversals(kleline) == 1
            closed = kleline.reversals.get(queued.rrn)
            # The restarted network lost the killed one's memory: nothing is held there, "unknown" closes it.
            assert closed is not None and closed.outcome == "25"
            assert kleline.reversals.pending() == []
        finally:
            kleline.close()
