"""A small JSON web service that embeds one Recommender (standard library only, no torch).

This is the no-dependency example, to read the whole request path in one file. To take
traffic, run ``ytrec serve`` instead (``pip install 'ytrec-infer[serve]'``; docs/serving.md):
limits, metrics, hot reload, rules, graceful shutdown and worker processes.

Run:   python examples/web_service.py artifacts/ml100k --port 8000
Query: curl 'localhost:8000/recommend?history=50,172,181&k=5'
       curl -d '{"history": [50, 172], "k": 5, "user": {"age": 25}}' localhost:8000/recommend
       curl localhost:8000/health

One ``Recommender`` is loaded at start and shared by the server's threads (it is thread-safe:
queries run on the calling thread). Bad requests get HTTP 400 with ``{"error": "..."}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ytrec_infer import Recommender, UnknownItemError, __version__

log = logging.getLogger("ytrec.web")
MAX_BODY_BYTES = 64 * 1024


class BadRequestError(ValueError):
    """The request cannot be answered as sent; the message says why."""


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadRequestError(
            f"history must be comma-separated integer item ids, got {text!r}"
        ) from None


def parse_query(query: str) -> dict[str, Any]:
    """``history=1,2,3&k=5`` as keyword arguments of ``Recommender.recommend``."""
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(params) - {"history", "k", "n_candidates"}
    if unknown:
        raise BadRequestError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    request: dict[str, Any] = {"history": _int_list(params.get("history", ""))}
    for name in ("k", "n_candidates"):
        if name in params:
            try:
                request[name] = int(params[name])
            except ValueError:
                raise BadRequestError(f"{name} must be an integer, got {params[name]!r}") from None
    return request


def parse_body(body: bytes) -> dict[str, Any]:
    """A JSON object with ``history`` and optional ``k``, ``n_candidates``, ``user``."""
    try:
        request = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"body is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise BadRequestError("body must be a JSON object")
    unknown = set(request) - {"history", "k", "n_candidates", "user"}
    if unknown:
        raise BadRequestError(f"unknown fields: {', '.join(sorted(unknown))}")
    request.setdefault("history", [])
    return request


def make_handler(rec: Recommender) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one loaded recommender."""

    class Handler(BaseHTTPRequestHandler):
        server_version = f"ytrec-infer/{__version__}"

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, parse: Any) -> None:
            path = urlsplit(self.path)
            if path.path == "/health":
                self._send(HTTPStatus.OK, {"status": "ok", "items": rec.num_items})
                return
            if path.path != "/recommend":
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no such path {path.path}"})
                return
            try:
                request = parse(path.query)
                result = rec.recommend(**request)
            except (BadRequestError, UnknownItemError, TypeError, ValueError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._send(HTTPStatus.OK, result.to_dict())

        def do_GET(self) -> None:
            self._answer(parse_query)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            body = self.rfile.read(length)
            self._answer(lambda _query: parse_body(body))

    return Handler


def make_server(artifact: str, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Load the artifact and bind a threading HTTP server (port 0 picks a free port)."""
    rec = Recommender.load(artifact)
    return ThreadingHTTPServer((host, port), make_handler(rec))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", help="artifact folder written by `ytrec train`")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    server = make_server(args.artifact, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving {args.artifact} on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
