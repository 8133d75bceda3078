"""Start uvicorn on the application: bind, announce the address, serve, shut down gracefully.

The socket is bound here (:func:`bind`), before any worker starts, so ``--port 0`` picks a free port and the
line printed on stdout names the real one. uvicorn's own handling of SIGTERM and SIGINT stops
accepting connections, finishes the requests in flight (up to ``graceful_timeout_s``), then
runs the application's shutdown (the reload watcher stops).
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from ytrec_infer.serve.options import ServeOptions

APP = "ytrec_infer.serve.app:app_from_env"


def _log_config(level: str) -> dict[str, object]:
    """uvicorn's logging setup, plus the runtime's own loggers (loads, reloads) at ``level``."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ytrec_infer"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket for uvicorn, created with ``IPPROTO_TCP`` as its protocol.

    uvicorn's own ``bind_socket`` passes protocol 0, and asyncio sets ``TCP_NODELAY`` only on
    connections whose socket says ``IPPROTO_TCP``; without it Nagle's algorithm holds back the
    body written after the headers until the client's delayed ACK, about 40 ms per request on
    a keep-alive connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(
    options: ServeOptions,
    announce: Callable[[str], None],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    graceful_timeout_s: int = 30,
    log_level: str = "INFO",
) -> bool:
    """Serve until SIGTERM/SIGINT; False when the application could not start.

    ``announce`` gets the line naming the address, once the socket is bound (the CLI prints
    it on stdout). Every worker process loads its own model and keeps its own metrics.
    """
    options.to_env()
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=graceful_timeout_s,
        log_config=_log_config(log_level),
        log_level=log_level.lower(),
        access_log=False,
        lifespan="on",
    )
    sock = bind(host, port)
    bound = sock.getsockname()
    announce(f"serving {options.source} on http://{bound[0]}:{bound[1]}")
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return True
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn exits when the application's startup (the load) failed
        return False
    return server.started
