"""A throwaway PostgreSQL cluster from Debian's package, for the tests that need a real server.

initdb and pg_ctl refuse to run as root: as root they run as `nobody`. The cluster lives in a
temporary directory and listens on a unix socket there only (no TCP port to collide with
other test runs on the machine); fsync is off, as nothing in it must outlive the session.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

USER = "drill"  # the cluster's superuser, trusted on its socket
SERVER_OPTIONS = "-k {root} -c listen_addresses='' -F"  # its socket in root, no TCP, no fsync


def server_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (setup/postgres.sh installs one)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _as_server(*argv: str) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else list(argv)


@dataclass
class Cluster:
    bin: Path
    root: Path
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A fresh, empty database in the cluster, and its URL."""
        name = f"t{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def halt(self) -> None:
        """Stop the server, keeping its data (a server gone mid-run); `resume` starts it again."""
        self._ctl("stop", "-m", "fast")

    def resume(self) -> None:
        self._ctl("start", "-l", str(self.root / "log"), "-o", SERVER_OPTIONS.format(root=self.root))

    def restart(self) -> None:
        """What a database upgrade or a failover does to drill: every connection closed by the server."""
        self.halt()
        self.resume()

    def _ctl(self, *argv: str) -> None:
        done = subprocess.run(
            _as_server(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *argv),
            capture_output=True,
            timeout=90,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {argv[0]} failed: {done.stderr.decode()[-1500:]}")

    def stop(self) -> None:
        subprocess.run(
            _as_server(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start(bin_dir: Path) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="drill-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
    cluster = Cluster(bin_dir, root)
    try:
        server = SERVER_OPTIONS.format(root=root)
        for argv in (
            ["initdb", "-D", str(cluster.data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            ["pg_ctl", "-D", str(cluster.data), "-l", str(root / "log"), "-w", "-t", "60", "-o", server, "start"],
        ):
            done = subprocess.run(_as_server(str(bin_dir / argv[0]), *argv[1:]), capture_output=True, timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-1500:]}")
    except BaseException:
        cluster.stop()
        raise
    _reap_after(os.getpid(), cluster)
    return cluster


def _reap_after(pid: int, cluster: Cluster) -> None:
    """A watchdog, detached: when the test session is gone (killed, even), the cluster goes too,
    so no server or temp directory outlives it. After a normal stop it finds nothing to do."""
    script = (
        f"while [ -d /proc/{pid} ]; do sleep 2; done; "
        f"'{cluster.bin / 'pg_ctl'}' -D '{cluster.data}' -m immediate -w stop; rm -rf '{cluster.root}'"
    )
    subprocess.Popen(
        _as_server("sh", "-c", script),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
