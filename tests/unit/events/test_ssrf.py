"""The SSRF guard: URL form, address classes, and the loopback switch for tests and the demo."""

from __future__ import annotations

import ipaddress

import pytest

from kleline.events.model import InvalidWebhookUrl
from kleline.events.ssrf import IPAddress, check_address, parse_url, resolve_target, system_resolver

PUBLIC = "93.184.216.34"


def resolving_to(*addresses: str):  # type: ignore[no-untyped-def]
    """A resolver answering ``addresses`` for any host."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/hook",
        "file:///etc/passwd",
        "gopher://shop.example/",
        "shop.example/hook",
        "https://",
        "https:///path",
        "https://user:pass@shop.example/hook",
        "https://shop.example/hook#part",
        "https://shop.example/ho ok",
        "https://shop.example/\nhook",
        "https://shop.example:99999/hook",
        "https://" + "a" * 2048 + ".example/",
        "",
    ],
)
def test_malformed_urls_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        parse_url(url)
    assert refused.value.param == "url"
    assert refused.value.code == "invalid_webhook_url"


def test_a_well_formed_url_gives_host_port_and_path() -> None:
    target = parse_url("https://Shop.Example./kleline/hook?x=1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "shop.example", 443, "/kleline/hook?x=1")
    assert parse_url("http://[2606:4700::1]:8080").port == 8080
    assert parse_url("http://[2606:4700::1]:8080").path == "/"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_address(ipaddress.ip_address(address), allow_loopback=False)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address: str) -> None:
    check_address(ipaddress.ip_address(address), allow_loopback=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "::ffff:127.0.0.1", "fc00::1"])
def test_the_switch_allows_loopback_and_private_addresses(address: str) -> None:
    check_address(ipaddress.ip_address(address), allow_loopback=True)


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "240.0.0.1"])
def test_the_switch_never_allows_link_local_multicast_reserved_or_unspecified(address: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_address(ipaddress.ip_address(address), allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8000/hook", "loopback"),
        ("http://localhost:8000/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
        ("http://0x7f.1/hook", "loopback"),
    ],
)
def test_urls_whose_host_resolves_to_a_forbidden_address_are_refused(url: str, kind: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=kind):
        resolve_target(url, allow_loopback=False)


def test_localhost_is_allowed_with_the_switch_and_pinned_to_its_address() -> None:
    target = resolve_target("http://localhost:8123/hook", allow_loopback=True)
    assert target.address is not None and target.address.is_loopback
    assert (target.host, target.port, target.path) == ("localhost", 8123, "/hook")


def test_a_name_with_one_public_and_one_private_address_is_refused() -> None:
    with pytest.raises(InvalidWebhookUrl, match="10.0.0.7"):
        resolve_target("https://shop.example/", allow_loopback=False, resolver=resolving_to(PUBLIC, "10.0.0.7"))


def test_a_public_name_is_accepted_and_pinned_to_the_address_checked() -> None:
    target = resolve_target("https://shop.example/hook", allow_loopback=False, resolver=resolving_to(PUBLIC))
    assert target.address == ipaddress.ip_address(PUBLIC)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        system_resolver("no-such-host.invalid", 443)
    with pytest.raises(InvalidWebhookUrl, match="no address"):
        resolve_target("https://shop.example/", allow_loopback=False, resolver=resolving_to())
