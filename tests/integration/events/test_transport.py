"""The webhook transport over real sockets: HTTPS pinned to the checked address, with the host's name for SNI and
the certificate check; refusals and errors come back as results."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kleline.events.ssrf import Target
from kleline.events.transport import HttpTransport

LOOPBACK = ipaddress.ip_address("127.0.0.1")


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def https_server(cert: Path, key: Path) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """An HTTPS server on 127.0.0.1 answering 204 and recording the Host header and TLS server name it was sent."""
    seen: list[dict[str, Any]] = []
    server_names: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"host": self.headers["Host"], "body": body, "sni": server_names[-1]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)  # type: ignore[assignment,misc,func-returns-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def trusting(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    return context


def test_https_goes_to_the_checked_address_but_names_the_host(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "shop.example")
    with https_server(cert, key) as (port, seen):
        # shop.example does not resolve here: the connection goes to the address the guard checked, 127.0.0.1.
        target = Target("https", "shop.example", port, "/hook", LOOPBACK)
        result = HttpTransport(tls=trusting(cert)).post(target, b"{}", {"Content-Type": "application/json"}, 3.0)
    assert (result.status_code, result.error) == (204, None)
    assert seen == [{"host": f"shop.example:{port}", "body": b"{}", "sni": "shop.example"}]


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "evil.example")
    with https_server(cert, key) as (port, seen):
        target = Target("https", "shop.example", port, "/hook", LOOPBACK)
        result = HttpTransport(tls=trusting(cert)).post(target, b"{}", {}, 3.0)
    assert result.status_code is None and result.error is not None
    assert result.error.startswith("TLS certificate refused")
    assert seen == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "shop.example")
    with https_server(cert, key) as (port, seen):
        result = HttpTransport().post(Target("https", "shop.example", port, "/", LOOPBACK), b"{}", {}, 3.0)
    assert result.error is not None and "TLS certificate refused" in result.error
    assert seen == []


def test_a_closed_port_is_a_result_not_an_exception() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = HttpTransport().post(Target("http", "localhost", port, "/", LOOPBACK), b"{}", {}, 2.0)
    assert (result.status_code, result.error) == (None, "connection refused")


def test_an_unchecked_target_is_never_contacted() -> None:
    result = HttpTransport().post(Target("http", "localhost", 80, "/"), b"{}", {}, 2.0)
    assert (result.status_code, result.error) == (None, "the target was not checked")
