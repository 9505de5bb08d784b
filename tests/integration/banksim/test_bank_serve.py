"""``kleline bank serve`` as its own process: ISO 8583 over TCP, files and statements over HTTP, and a kill -9.

The process is started on free ports (``--port 0``) and says where it listens on its first lines. Kleline's own
card connector (``IsoBankNetwork`` over the pooled ``TcpTransport``) talks to it; the HTTP side is reached with a
plain client. The state directory's journal is what a restart after ``kill -9`` replays.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from kleline.banks.framing import FrameReader, frame
from kleline.banks.messages import AuthorizationRequest, AuthorizationResponse, decode_response, encode_message
from kleline.banksim.journal import JOURNAL_NAME
from kleline.money import Money
from kleline.sepa import CreditTransfer, Direction, read_statement, write_credit_transfers

from ...bank_serve import KLELINE, START_SECONDS, VISA, bank_serve

BOOKSHOP = "FR1420041010050500013M02606"


def eur(text: str) -> Money:
    return Money.parse(text, "EUR")


def payouts_file() -> bytes:
    transfer = CreditTransfer("po_1", eur("20.00"), "Librairie Kleber", BOOKSHOP, "", "Kleline payout")
    now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    return write_credit_transfers(KLELINE, [transfer], message_id="sr_1", created_at=now, execution_date=now.date())


def test_the_bank_answers_card_traffic_over_tcp_books_files_and_survives_a_kill_9(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    with bank_serve("--state", state) as bank:
        network = bank.network()
        captured = network.authorize(VISA, eur("42.00"), "pay_1")
        assert captured.approved and captured.authorization_id is not None
        network.capture(captured.authorization_id, eur("40.00"))
        held = network.authorize(VISA, eur("10.00"), "pay_2")
        assert held.approved and held.authorization_id is not None
        assert bank.http.post("/files", content=payouts_file()).status_code == 201
        first = bank.http.post(f"/statements/{KLELINE.iban}")
        assert first.status_code == 201
        lines = read_statement(first.content).lines
        assert [(line.end_to_end_id, line.direction, line.amount) for line in lines] == [
            (captured.authorization_id, Direction.CREDIT, eur("40.00")),
            ("po_1", Direction.DEBIT, eur("20.00")),
        ]
        bank.process.kill()  # SIGKILL: no clean-up of any kind
        bank.process.wait(30)

    with bank_serve("--state", state) as bank:
        assert bank.http.get(f"/statements/{KLELINE.iban}/1").content == first.content
        card = bank.http.get(f"/cards/{VISA.number}/balance").json()
        assert (card["held"], card["posted"]) == ("10.00", "99960.00")
        assert bank.network().reverse(held.authorization_id).code == "00"
        assert bank.http.get(f"/cards/{VISA.number}/balance").json()["held"] == "0.00"
        assert bank.http.post("/files", content=payouts_file()).status_code == 200  # known: not booked again
        second = read_statement(bank.http.post(f"/statements/{KLELINE.iban}").content)
        assert second.sequence_number == 2 and second.lines == ()
        assert second.opening_balance == read_statement(first.content).closing_balance
        assert bank.http.get("/trial-balance").json() == {"EUR": "0.00"}
        bank.process.send_signal(signal.SIGTERM)
        assert bank.process.wait(30) == 0


def test_a_bank_killed_before_it_answers_still_holds_the_funds_after_a_restart_until_reversed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    request = AuthorizationRequest("000001", "ABCDEF123456", "093000", VISA, eur("42.00"), "KLELINE1", "KLELINE")
    with bank_serve("--state", str(state), "--latency-ms", "30000") as bank:
        with socket.create_connection((bank.host, bank.port), timeout=5) as connection:
            connection.sendall(frame(encode_message(request)))
            deadline = time.monotonic() + 30
            while b'"op":"iso8583"' not in (state / JOURNAL_NAME).read_bytes():  # booked, synced, not answered
                assert time.monotonic() < deadline, "the request never reached the journal"
                time.sleep(0.05)
            bank.process.kill()
            bank.process.wait(30)
            assert connection.recv(65536) == b""  # the answer never came

    with bank_serve("--state", str(state)) as bank:
        assert bank.http.get(f"/cards/{VISA.number}/balance").json()["held"] == "42.00"
        # The connector's reversal for the unanswered RRN releases the hold.
        assert bank.network().reverse("ABCDEF123456").code == "00"
        assert bank.http.get(f"/cards/{VISA.number}/balance").json()["held"] == "0.00"
        # And a late retry of the same authorisation gets the issuer's first answer, not a second hold.
        with socket.create_connection((bank.host, bank.port), timeout=5) as connection:
            connection.sendall(frame(encode_message(request)))
            reader, answers = FrameReader(), []
            while not answers:
                answers = reader.feed(connection.recv(65536))
        answer = decode_response(answers[0])
        assert isinstance(answer, AuthorizationResponse) and answer.code == "00"
        assert bank.http.get(f"/cards/{VISA.number}/balance").json()["held"] == "0.00"
        bank.process.send_signal(signal.SIGINT)
        assert bank.process.wait(30) == 0


def test_a_port_already_taken_or_a_wrong_acquirer_iban_is_a_readable_error() -> None:
    kleline = str(Path(sys.executable).with_name("kleline"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(
            [kleline, "bank", "serve", "--port", "0", "--files-port", port],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
    wrong = subprocess.run(
        [kleline, "bank", "serve", "--port", "0", "--acquirer-iban", "FR7630003000000005000000168"],
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )

    assert (busy.returncode, wrong.returncode) == (1, 1)
    assert "cannot listen" in busy.stderr
    assert "not a valid IBAN" in wrong.stderr
