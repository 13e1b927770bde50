"""Any http(s) target (#13): what a URL means, and one clear line when it cannot be reached.

Nothing here leaves 127.0.0.1: named hosts are only parsed, and the name that must not
resolve is under the reserved .invalid domain."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from http.server import HTTPServer

import pytest

from drills.errors import UsageError
from tests.unit.servers import running
from tests.unit.test_generator_loopback import Quick
from traffic.target import Target, check_reachable


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "base_path", "authority"),
    [
        ("https://staging.example.com", "https", "staging.example.com", 443, "", "staging.example.com"),
        (
            "https://Staging.Example.com:8443/api/",
            "https",
            "staging.example.com",
            8443,
            "/api",
            "staging.example.com:8443",
        ),
        ("http://staging.example.com:80/", "http", "staging.example.com", 80, "", "staging.example.com"),
        ("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, "", "127.0.0.1:8080"),
        ("http://[::1]:8080/v1", "http", "::1", 8080, "/v1", "[::1]:8080"),
        ("HTTPS://localhost", "https", "localhost", 443, "", "localhost"),
    ],
)
def test_any_http_or_https_url_is_a_target(
    url: str, scheme: str, host: str, port: int, base_path: str, authority: str
) -> None:
    target = Target.parse(url)
    assert (target.scheme, target.host, target.port, target.base_path) == (scheme, host, port, base_path)
    assert target.authority == authority and target.tls == (scheme == "https")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://127.0.0.1/", "expected http(s)://HOST"),
        ("staging.example.com", "expected http(s)://HOST"),
        ("http:///health", "no host"),
        ("https://staging.example.com:0x50/", "the port is not a number"),
        ("https://ops:hunter2@staging.example.com/", "drill sends no credentials"),
        ("https://staging.example.com/?q=1", "a fixed path with a query goes in --path"),
        ("https://staging.example.com/a b", "no query, fragment or spaces"),
    ],
)
def test_what_is_not_a_target_is_said_in_one_line(url: str, needle: str) -> None:
    with pytest.raises(UsageError) as caught:
        Target.parse(url)
    message = str(caught.value)
    assert message.startswith("--url ") and needle in message and "\n" not in message


def free_port() -> int:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return int(closed.getsockname()[1])  # nothing listens once this closes


def unreachable(url: str, timeout_s: float = 3.0) -> str:
    with pytest.raises(UsageError) as caught:
        check_reachable(Target.parse(url), timeout_s=timeout_s)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_name_that_does_not_resolve() -> None:
    message = unreachable("https://drill-target.invalid/api")
    assert message.startswith("--url https://drill-target.invalid: cannot resolve drill-target.invalid (")


def test_nothing_listening() -> None:
    port = free_port()
    assert (
        unreachable(f"http://127.0.0.1:{port}") == f"--url http://127.0.0.1:{port}: cannot connect (Connection refused)"
    )


@pytest.fixture()
def plain_http() -> Iterator[int]:
    with running(HTTPServer(("127.0.0.1", 0), Quick)) as port:
        yield port


def test_https_to_a_plain_http_server(plain_http: int) -> None:
    message = unreachable(f"https://127.0.0.1:{plain_http}")
    assert "TLS handshake failed" in message and "(else http://)" in message


def test_https_to_a_server_that_never_answers_the_handshake() -> None:
    """It accepts the connection (the kernel does, from the backlog) but says nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        message = unreachable(f"https://127.0.0.1:{port}", timeout_s=0.1)
    assert message == f"--url https://127.0.0.1:{port}: no TLS answer within 0.1s; is it https? (else http://)"
