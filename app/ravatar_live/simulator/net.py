"""Addresses in URLs."""

from __future__ import annotations

import ipaddress


def url_host(bound: str) -> str:
    """A host to put in URLs for a bound address (wildcards become loopback, IPv6 in brackets)."""
    try:
        ip = ipaddress.ip_address(bound)
    except ValueError:
        return bound
    if ip.is_unspecified:
        ip = ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")
    return f"[{ip}]" if ip.version == 6 else str(ip)
