"""What the audience is sent to: any http(s) URL a user gives, and a first look at it.

`check_reachable` runs once before a load so a wrong URL is one clear line (cannot resolve,
refused, timed out, a certificate not trusted) instead of a load of identical failures.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from drills.errors import UsageError

DEFAULT_PORTS = {"http": 80, "https": 443}
SHAPE = "expected http(s)://HOST[:PORT][/path], e.g. https://staging.example.com or http://127.0.0.1:8080"


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    base_path: str
    scheme: str = "http"

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url.strip())
        if parts.scheme not in DEFAULT_PORTS:
            raise UsageError(f"--url {url!r}: {SHAPE}")
        if not parts.hostname:
            raise UsageError(f"--url {url!r}: no host; {SHAPE}")
        if parts.username is not None or parts.password is not None:
            raise UsageError(f"--url {url!r}: drill sends no credentials; give the URL without user:password@")
        if parts.query or parts.fragment or any(c.isspace() for c in url.strip()):
            raise UsageError(f"--url {url!r}: no query, fragment or spaces; a fixed path with a query goes in --path")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise UsageError(f"--url {url!r}: the port is not a number between 1 and 65535") from None
        return cls(parts.hostname, port, parts.path.rstrip("/"), parts.scheme)

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def authority(self) -> str:
        """The Host header: the port only when it is not the scheme's own (as browsers send it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"


def check_reachable(target: Target, context: ssl.SSLContext | None = None, timeout_s: float = 3.0) -> None:
    """Fail fast, in one line, when the target cannot be resolved, connected to or trusted."""
    where = f"--url {target.origin}"
    try:
        socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise UsageError(f"{where}: cannot resolve {target.host} ({reason}); check the host name") from None
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout_s)
    except TimeoutError:
        raise UsageError(f"{where}: no answer within {timeout_s:g}s (connecting); is a firewall in the way?") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot connect ({exc.strerror or exc})") from None
    with sock:
        if target.tls:
            _check_handshake(sock, target, context or ssl.create_default_context(), timeout_s)


def _check_handshake(sock: socket.socket, target: Target, context: ssl.SSLContext, timeout_s: float) -> None:
    where = f"--url {target.origin}"
    try:
        context.wrap_socket(sock, server_hostname=target.host).close()
    except ssl.SSLCertVerificationError as exc:
        raise UsageError(
            f"{where}: certificate verify failed ({exc.verify_message}); "
            "give --ca-file FILE with the CA that signed it (or --insecure to skip the check)"
        ) from None
    except ssl.SSLError as exc:
        raise UsageError(f"{where}: TLS handshake failed ({exc.reason or exc}); is it https? (else http://)") from None
    except TimeoutError:
        raise UsageError(f"{where}: no TLS answer within {timeout_s:g}s; is it https? (else http://)") from None
    except OSError as exc:
        raise UsageError(f"{where}: TLS handshake failed ({exc.strerror or exc})") from None
