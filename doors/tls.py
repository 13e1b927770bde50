"""Whose certificates drill's HTTP clients believe: the load generator and the alert webhook.

Verified by default (the system's CAs, host names checked). A staging stack signed by a
private CA is trusted by adding that CA (`--ca-file`), not by switching verification off;
`--insecure` exists for the load target only, and says what it gives up.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from drills.errors import UsageError


@dataclass(frozen=True)
class Trust:
    ca_file: str | None = None  # PEM: trusted in addition to the system's CAs
    insecure: bool = False  # encrypt, but authenticate nobody

    def context(self) -> ssl.SSLContext:
        """A client context; a CA file that cannot be used is the user's error, said in one line."""
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])  # drill speaks HTTP/1.1, also to servers that offer h2
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=self.ca_file)
            except ssl.SSLError:
                raise UsageError(
                    f"--ca-file {self.ca_file}: no PEM certificate in it (give the CA that signed the server's)"
                ) from None
            except OSError as exc:
                raise UsageError(f"--ca-file {self.ca_file}: cannot read it ({exc.strerror or exc})") from None
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
