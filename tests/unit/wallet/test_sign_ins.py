"""What a sign-in record keeps of the client: a browser and system family, and a truncated network."""

from __future__ import annotations

import pytest

from kleline.wallet.sign_ins import browser_family, network_of, system_family

PIXEL = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Mobile Safari/537"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1 Version/18.0 Mobile Safari/604"
EDGE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0.0.0 Safari/537.36 Edg/129.0.2792"
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:130.0) Gecko/20100101 Firefox/130.0"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "browser", "system"),
    [
        (PIXEL, "Chrome", "Android"),
        (IPHONE, "Safari", "iOS"),
        (EDGE, "Edge", "Windows"),
        (FIREFOX_MAC, "Firefox", "macOS"),
        (HEADLESS, "Chrome", "Linux"),
        ("curl/8.5.0", "curl", ""),
        ("", "", ""),
        ("something else entirely", "", ""),
    ],
)
def test_only_the_families_are_read_from_a_user_agent(agent: str, browser: str, system: str) -> None:
    assert (browser_family(agent), system_family(agent)) == (browser, system)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("testclient", ""),
        (None, ""),
    ],
)
def test_an_address_is_kept_as_its_network_only(address: str | None, network: str) -> None:
    assert network_of(address) == network
