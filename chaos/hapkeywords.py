"""HAProxy's `server` / `default-server` keywords, as the 2.x-3.x configuration manual (section 5.2) lists them.

A server line is words, and only the keyword model tells a flag (`check`, `ssl`, `backup`) from a
keyword that takes the next word (`verify none`, `weight 10`, `port 8008`). With a partial list,
`ssl verify none check` pairs `ssl` with `verify` and `none` with `check`, and the check is lost.
"""

from __future__ import annotations

SERVER_FLAGS = frozenset(
    {
        "agent-check",
        "allow-0rtt",
        "backup",
        "check",
        "check-reuse-pool",
        "check-send-proxy",
        "check-ssl",
        "check-via-socks4",
        "disabled",
        "enabled",
        "force-sslv3",
        "force-tlsv10",
        "force-tlsv11",
        "force-tlsv12",
        "force-tlsv13",
        "no-agent-check",
        "no-backup",
        "no-check",
        "no-check-reuse-pool",
        "no-check-ssl",
        "no-renegotiate",
        "no-send-proxy",
        "no-send-proxy-v2",
        "no-send-proxy-v2-ssl",
        "no-send-proxy-v2-ssl-cn",
        "no-ssl",
        "no-ssl-reuse",
        "no-sslv3",
        "no-tfo",
        "no-tls-tickets",
        "no-tlsv10",
        "no-tlsv11",
        "no-tlsv12",
        "no-tlsv13",
        "no-verifyhost",
        "non-stick",
        "renegotiate",
        "send-proxy",
        "send-proxy-v2",
        "send-proxy-v2-ssl",
        "send-proxy-v2-ssl-cn",
        "ssl",
        "ssl-reuse",
        "stick",
        "strict-maxconn",
        "tfo",
        "tls-tickets",
    }
)

SERVER_ARG_KEYWORDS = frozenset(
    {
        "addr",
        "agent-addr",
        "agent-inter",
        "agent-port",
        "agent-send",
        "alpn",
        "ca-file",
        "check-alpn",
        "check-pool-conn-name",
        "check-proto",
        "check-sni",
        "ciphers",
        "ciphersuites",
        "client-sigalgs",
        "cookie",
        "crl-file",
        "crt",
        "curves",
        "downinter",
        "error-limit",
        "fall",
        "fastinter",
        "guid",
        "hash-key",
        "id",
        "idle-ping",
        "init-addr",
        "init-state",
        "inter",
        "interface",
        "log-bufsize",
        "log-proto",
        "max-reuse",
        "maxconn",
        "maxqueue",
        "minconn",
        "namespace",
        "npn",
        "observe",
        "on-error",
        "on-marked-down",
        "on-marked-up",
        "pool-conn-name",
        "pool-low-conn",
        "pool-max-conn",
        "pool-purge-delay",
        "port",
        "proto",
        "proxy-v2-options",
        "redir",
        "resolve-net",
        "resolve-opts",
        "resolve-prefer",
        "resolvers",
        "rise",
        "shard",
        "sigalgs",
        "slowstart",
        "sni",
        "socks4",
        "source",
        "ssl-max-ver",
        "ssl-min-ver",
        "tcp-md5sig",
        "tcp-ut",
        "track",
        "usesrc",
        "verify",
        "verifyhost",
        "weight",
        "ws",
    }
)

# Keywords whose name carries a parenthesised id and that take one argument, e.g. set-proxy-v2-tlv-fmt(0xE1) %[...].
SERVER_ARG_PREFIXES = ("set-proxy-v2-tlv-fmt(",)

# Directives removed in HAProxy 2.1 (2.0 only warned): a config using them does not load any more.
REMOVED_DIRECTIVES = {
    **{
        k: "use `http-request` / `http-response` rules"
        for k in (
            "reqadd",
            "reqallow",
            "reqdel",
            "reqdeny",
            "reqiallow",
            "reqidel",
            "reqideny",
            "reqipass",
            "reqirep",
            "reqitarpit",
            "reqpass",
            "reqrep",
            "reqtarpit",
            "rspadd",
            "rspdel",
            "rspdeny",
            "rspidel",
            "rspideny",
            "rspirep",
            "rsprep",
            "block",
        )
    },
    "contimeout": "use `timeout connect`",
    "clitimeout": "use `timeout client`",
    "srvtimeout": "use `timeout server`",
    "redispatch": "use `option redispatch`",
}


def takes_argument(word: str) -> bool:
    return word in SERVER_ARG_KEYWORDS or word.startswith(SERVER_ARG_PREFIXES)


def is_known(word: str) -> bool:
    return word in SERVER_FLAGS or takes_argument(word)
