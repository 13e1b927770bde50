"""HTTPS, verified by default (#13): a server on 127.0.0.1 with a certificate made here, signed
by itself, so trusted only when the client is given it with --ca-file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app
from doors.tls import Trust
from drills.errors import UsageError
from orchestration.load import LoadSpec, run_load
from telemetry.sinks import WebhookSink, slack_payload
from tests.unit.servers import SelfSigned, running, self_signed, serve_tls
from tests.unit.test_generator_loopback import KeepAlive
from tests.unit.test_sinks import EVENT, Received


class SeenHosts(KeepAlive):
    hosts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        SeenHosts.hosts.append(self.headers["Host"])
        super().do_GET()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture()
def https_port(pair: SelfSigned) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SeenHosts)
    serve_tls(server, pair)
    with running(server) as port:
        yield port


def test_load_over_https_with_the_ca_file_counts_every_answer(pair: SelfSigned, https_port: int) -> None:
    SeenHosts.hosts.clear()
    spec = LoadSpec(f"https://localhost:{https_port}", rps=100, duration_s=0.2, path="/x", trust=Trust(str(pair.cert)))
    result = run_load(spec, rules=[])
    report = result.report
    assert report.requests == 20 and report.errors == 0, [s.error for s in result.samples if s.error]
    assert report.replicas == {"solo": 20} and report.bytes == 40
    assert set(SeenHosts.hosts) == {f"localhost:{https_port}"}, "the name the user gave, with its port"


def test_an_untrusted_certificate_stops_the_load_before_it_starts(https_port: int) -> None:
    with pytest.raises(UsageError) as caught:
        run_load(LoadSpec(f"https://127.0.0.1:{https_port}", rps=10, duration_s=1, path="/x"), rules=[])
    message = str(caught.value)
    assert message.startswith(f"--url https://127.0.0.1:{https_port}: certificate verify failed (")
    assert "give --ca-file FILE" in message and "\n" not in message


def test_insecure_encrypts_without_verifying(https_port: int) -> None:
    spec = LoadSpec(f"https://127.0.0.1:{https_port}", rps=50, duration_s=0.2, path="/x", trust=Trust(insecure=True))
    assert run_load(spec, rules=[]).report.errors == 0


def test_a_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(UsageError, match=f"--ca-file {junk}: no PEM certificate in it"):
        Trust(str(junk)).context()


def drill(*args: str, home: Path) -> tuple[int, str, str]:
    common.doors.cache_clear()
    result = CliRunner().invoke(app, list(args), env={"DRILL_HOME": str(home)})
    return result.exit_code, result.stdout, result.stderr


def test_drill_load_over_https(tmp_path: Path, pair: SelfSigned, https_port: int) -> None:
    url = f"https://127.0.0.1:{https_port}"
    args = ("load", "--url", url, "--rps", "50", "--duration", "0.2", "--path", "/x", "--json")
    code, out, _ = drill(*args, "--ca-file", str(pair.cert), home=tmp_path)
    assert code == 0 and json.loads(out)["requests"] == 10 and json.loads(out)["errors"] == 0
    code, _, err = drill(*args, home=tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "certificate verify failed" in err


@pytest.fixture()
def https_hook(pair: SelfSigned) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Received)
    serve_tls(server, pair)
    with running(server) as port:
        yield f"https://127.0.0.1:{port}/services/T0/B0/secret"


def test_the_webhook_posts_over_https_to_a_server_it_trusts(pair: SelfSigned, https_hook: str) -> None:
    sink = WebhookSink(https_hook, trust=Trust(str(pair.cert)))
    sink.send(EVENT)
    sink.close()
    assert sink.delivered == 1 and Received.bodies[-1] == slack_payload(EVENT)


def test_the_webhook_does_not_post_to_a_server_it_does_not_trust(https_hook: str) -> None:
    sink = WebhookSink(https_hook, attempts=3)
    sink.send(EVENT)
    sink.close()
    assert sink.delivered == 0 and sink.dropped == 1
    assert sink.last_failure.startswith("certificate verify failed") and "--ca-file" in sink.last_failure
    assert "secret" not in sink.summary()
