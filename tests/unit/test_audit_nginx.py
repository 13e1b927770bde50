"""nginx upstreams read by crossplane: layouts line matching missed, and nothing that crashes."""

from __future__ import annotations

import pytest

from chaos.audit_nginx import audit_nginx


def found(text: str) -> set[tuple[int, str, str]]:
    return {(f.line, f.rule, f.severity) for f in audit_nginx(text, "n.conf")}


MEMBERS = ["server 10.0.0.1:80 weight=20;", "server 10.0.0.2:80;", "server 10.0.0.3:80 down;"]


@pytest.mark.parametrize(
    "text",
    [
        "upstream api\n{\n    " + "\n    ".join(MEMBERS) + "\n}\n",  # `{` on the next line
        "upstream api { " + " ".join(MEMBERS) + " }\n",  # the whole upstream on one line
        "upstream api {\n\t" + "\n\t".join(MEMBERS) + "\n}\n",  # tabs
    ],
    ids=["brace-next-line", "one-line", "tabs"],
)
def test_upstream_layouts_are_all_read(text: str) -> None:
    rules = {rule for _, rule, _ in found(text)}
    assert {"weights-skew", "out-of-rotation"} <= rules


def test_rules_on_an_upstream_in_http() -> None:
    text = (
        "http {\n  upstream api {\n    ip_hash;\n"
        "    server 10.0.0.1:80 weight=20 max_conns=2;\n    server 10.0.0.2:80 max_fails=0;\n"
        "    server 10.0.0.3:80 down;\n    server 10.0.0.4:80 backup;\n  }\n}\n"
    )
    assert found(text) >= {
        (3, "hash-balance", "warning"),
        (4, "weights-skew", "error"),
        (4, "maxconn-tiny", "warning"),
        (4, "maxconn-asymmetry", "warning"),
        (5, "no-health-check", "error"),
        (6, "out-of-rotation", "warning"),
        (7, "backup-server", "info"),
    }


def test_cache_affinity_and_stream_stickiness_are_information() -> None:
    assert found("upstream c {\n  hash $request_uri consistent;\n  server a:80;\n  server b:80;\n}\n") == {
        (2, "hash-balance", "info")
    }
    stream = "stream {\n  upstream db {\n    hash $remote_addr consistent;\n    server a:5432;\n    server b:5432;\n}}"
    assert found(stream) == {(3, "hash-balance", "info")}


def test_single_server_upstreams_and_deliberate_weights_stay_quiet() -> None:
    assert found("upstream one {\n  ip_hash;\n  server a:80 max_fails=0;\n}\n") == {(3, "no-health-check", "info")}
    assert found("upstream w {\n  server a:80 weight=70;\n  server b:80 weight=30;\n}\n") == {
        (2, "weights-skew", "info")
    }


def test_includes_of_mime_types_and_params_are_not_reported() -> None:
    text = (
        "http {\n  include /etc/nginx/mime.types;\n  include fastcgi_params;\n"
        "  include /etc/nginx/modules-enabled/*.conf;\n  include /etc/nginx/conf.d/*.conf;\n}\n"
    )
    assert found(text) == {(5, "not-evaluated", "info")}


@pytest.mark.parametrize(
    "text",
    ["upstream a { server ; }\n", "upstream a {\n  server a:80;\n", "}}}\n", "upstream { }", "", "\x00\x01", "http {"],
)
def test_broken_input_is_a_finding_not_a_crash(text: str) -> None:
    findings = audit_nginx(text, "broken.conf")
    assert all(f.rule in ("wont-load", "not-evaluated") for f in findings)


def test_a_server_without_an_address_will_not_load() -> None:
    assert (1, "wont-load", "error") in found("upstream a { server ; }\n")
