"""The responder shell's tools (stack/images/shell/bin) against a team's /lb directory: each
speaks to the team's balancer, HAProxy or nginx. Run with sh here, with LB_DIR for /lb."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from stack import shell
from stack.resources import images_dir

BIN = images_dir() / "shell" / "bin"


def tool(name: str, lb: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(BIN / name), *args],
        env={"LB_DIR": str(lb), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=10,
    )


def test_the_greeting_names_the_teams_balancer(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text("global\n")
    assert "haproxy.cfg" in shell.motd(tmp_path).read_text()
    (tmp_path / "haproxy.cfg").unlink()
    (tmp_path / "nginx.conf").write_text("events {}\n")
    greeting = shell.motd(tmp_path).read_text()
    assert "nginx.conf" in greeting and "haproxy" not in greeting and "runtime" not in greeting


def test_runtime_on_nginx_says_there_is_none_and_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("events {}\n")
    done = tool("runtime", tmp_path, "show stat")
    assert done.returncode == 1 and "no runtime API" in done.stderr and "reload" in done.stderr


def test_reload_on_nginx_asks_the_game_day_without_haproxy(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("events {}\n")
    request = tmp_path / ".reload-requested"

    def game_day_takes_it() -> None:  # what gameday._reloads does: signal, then clear the request
        for _ in range(250):  # bounded: 5 s, as long as `reload` itself waits
            if request.exists():
                request.unlink()
                return
            threading.Event().wait(0.02)

    taker = threading.Thread(target=game_day_takes_it)
    taker.start()
    done = tool("reload", tmp_path)
    taker.join()
    assert done.returncode == 0, done.stderr
    assert "reloaded gracefully (nginx" in done.stdout


def test_reload_on_haproxy_refuses_a_config_haproxy_refuses(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text("this is not haproxy\n")
    done = tool("reload", tmp_path)
    assert done.returncode == 1
    assert not (tmp_path / ".reload-requested").exists()
