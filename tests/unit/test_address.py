"""Which addresses a feed may reach: every non-global kind is named and refused."""

from __future__ import annotations

import ipaddress

import pytest

from aggregator.fetch._address import why_not_global


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),  # is_global is True for it: checked on its own
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("192.0.2.1", "private"),  # documentation
    ],
)
def test_non_global_addresses_are_named(address: str, kind: str) -> None:
    assert why_not_global(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700::1111",
                                     "::ffff:93.184.215.14", "64:ff9b::101:101"])  # fmt: skip
def test_global_addresses_pass(address: str) -> None:
    assert why_not_global(ipaddress.ip_address(address)) is None
