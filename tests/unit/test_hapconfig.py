from __future__ import annotations

import pytest

from chaos.hapconfig import Hunk, Patch, parse, replace_lines, server_lines, servers, set_server_option, tokenize

CONFIG = """\
# comment at the top
global
    maxconn 100
defaults
    mode http
    default-server inter 2s
backend app  # the pool
    balance roundrobin
    default-server check fall 3
    server a1 10.0.0.1:8080 weight 5 # favoured
    server a2 10.0.0.2:8080 backup
    server-template web 1-2 web.svc:80 check
"""


def test_tokenize_handles_quotes_escapes_and_comments() -> None:
    assert tokenize('    agent-send "tango period=4" # note') == ["agent-send", "tango period=4"]
    assert tokenize(r"log 127.0.0.1\ local0 info") == ["log", "127.0.0.1 local0", "info"]
    assert tokenize("  # only a comment") == []


def test_sections_and_servers_merge_default_server_and_expand_templates() -> None:
    config = parse(CONFIG)
    assert [(s.kind, s.name) for s in config.sections] == [
        ("", ""),
        ("global", ""),
        ("defaults", ""),
        ("backend", "app"),
    ]
    pool = servers(config, config.sections[3])
    assert [s.name for s in pool] == ["a1", "a2", "web1", "web2"]
    a1 = pool[0]
    assert (a1.address, a1.port, a1.line.number) == ("10.0.0.1", 8080, 10)
    assert a1.options["weight"] == "5" and a1.options["inter"] == "2s" and a1.options["fall"] == "3"
    assert a1.has("check") and pool[1].has("backup") and pool[3].port == 80


def test_set_server_option_replaces_adds_removes_and_keeps_comment() -> None:
    line = "    server a1 10.0.0.1:8080 weight 5 # favoured"
    assert set_server_option(line, "weight", "1") == "    server a1 10.0.0.1:8080 weight 1  # favoured"
    assert set_server_option(line, "weight", None) == "    server a1 10.0.0.1:8080  # favoured"
    assert set_server_option(line, "disabled", "") == "    server a1 10.0.0.1:8080 weight 5 disabled  # favoured"
    assert set_server_option("  default-server check", "agent-send", "a b") == '  default-server check agent-send "a b"'


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_patch_round_trip_is_byte_identical(ending: str, final_newline: bool) -> None:
    text = CONFIG.replace("\n", ending)
    if not final_newline:
        text = text.rstrip("\r\n")
    patch = replace_lines(text, {8: "    balance source", 12: "    server-template web 1-2 web.svc:80"})
    changed = patch.apply(text)
    assert changed != text and "balance source" + ending in changed
    assert changed.count(ending) == text.count(ending)
    assert patch.inverse().apply(changed) == text


def test_patch_refuses_to_apply_where_the_text_differs() -> None:
    patch = Patch((Hunk(0, ("nope\n",), ("yes\n",)),))
    with pytest.raises(ValueError, match="does not apply at line 1"):
        patch.apply(CONFIG)


def test_server_keywords_follow_the_manual_flags_and_arguments() -> None:
    config = parse("backend b\n    server s1 10.0.0.1:443 ssl verify none check weight 5 port 8443\n")
    (server,) = servers(config, config.sections[0])
    assert server.has("ssl") and server.has("check")
    assert (server.options["verify"], server.options["weight"], server.options["port"]) == ("none", "5", "8443")
    line = "  server s1 10.0.0.1:443 ssl verify none check weight 5"
    assert set_server_option(line, "weight", None) == "  server s1 10.0.0.1:443 ssl verify none check"


def test_indented_section_headers_start_sections() -> None:
    config = parse("  global\n    daemon\n  backend web\n    server a 10.0.0.1:80 weight 100\n")
    assert [(s.kind, s.name) for s in config.sections] == [("global", ""), ("backend", "web")]


def test_server_lines_keep_a_template_as_one_line() -> None:
    config = parse("backend b\n    server-template u 100000 svc.local:80 check\n")
    (template,) = server_lines(config, config.sections[0])
    assert (template.name, template.count, template.line.number) == ("u", 100000, 2)
