"""The sandbox ALB's redirect answers as ALB builds them (#{host}, #{path}, #{query}, ports)."""

from __future__ import annotations

import pytest

from loono_infra.sandbox.server.balancer import redirect_location
from loono_infra.sandbox.tls import loopback_pool, minimum_tls_version

TERRAFORM_REDIRECT = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301",
                      "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"}


@pytest.mark.parametrize(("host", "path", "location"), [
    ("127.70.1.1", "/health", "https://127.70.1.1/health"),
    ("127.70.1.1:80", "/v3/api-docs?group=x", "https://127.70.1.1/v3/api-docs?group=x"),
    ("api.example.org", "/", "https://api.example.org/"),
])
def test_http_redirects_to_https_keeping_host_path_and_query(host: str, path: str,
                                                             location: str) -> None:
    assert redirect_location(TERRAFORM_REDIRECT, "HTTP", host, 80, path) == location


def test_a_non_default_port_is_kept_in_the_location() -> None:
    config = {**TERRAFORM_REDIRECT, "Port": "8443"}
    assert redirect_location(config, "HTTP", "h", 80, "/a") == "https://h:8443/a"


def test_only_given_parts_are_replaced() -> None:
    config = {"Protocol": "HTTPS", "Port": "443"}  # AWS fills the rest with placeholders
    assert redirect_location(config, "HTTP", "h", 80, "/p?q=1") == "https://h/p?q=1"


def test_policies_and_the_address_pool() -> None:
    assert minimum_tls_version("ELBSecurityPolicy-TLS13-1-2-2021-06") == "TLSv1_2"
    assert minimum_tls_version("ELBSecurityPolicy-TLS13-1-3-2021-06") == "TLSv1_3"
    pool = loopback_pool(seed=1)
    assert len(pool) == len(set(pool)) == 32 and all(a.startswith("127.") for a in pool)
