"""The Starlette application of ``ytrec serve``: routes, limits, errors, metrics, hot reload.

The event loop only reads requests and writes answers; every model call runs on a pool of
``threads`` worker threads (onnxruntime and numpy release the GIL), so a slow client or a
reload never stalls other requests. A request reads :attr:`ServingRecommender.current` once
and computes on that model to the end, so a hot reload never mixes two versions in one
answer; the answer names the version that computed it (``model_version``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from time import perf_counter
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ytrec_infer.errors import UnknownItemError
from ytrec_infer.recommender import Recommender
from ytrec_infer.reloading import ServingRecommender
from ytrec_infer.serve.browse import TitleSearch, find_item, item_id_type, user_fields
from ytrec_infer.serve.metrics import Metrics
from ytrec_infer.serve.openapi import openapi_document
from ytrec_infer.serve.options import ServeOptions
from ytrec_infer.serve.payloads import (
    BATCH_FIELDS,
    RECOMMEND_FIELDS,
    HttpError,
    batch_arguments,
    parse_json,
    recommend_arguments,
)
from ytrec_infer.stages import timing_stages

log = logging.getLogger(__name__)
T = TypeVar("T")
STATIC = ("index.html", "page.js", "page.css")
MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
WORD = re.compile(r"[A-Za-z_]+")
MAX_SEARCH_RESULTS = 100


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """``payload`` as a JSON answer (numbers from the model are finite, so plain JSON)."""
    return Response(json.dumps(payload), status, headers, media_type="application/json")


def model_version(rec: Recommender) -> str:
    """The name of the artifact folder a model was loaded from (``v000002``, ...)."""
    return rec.manifest.root.name


@dataclass
class ServerState:
    """What the routes share: options, metrics, the serving model and the thread pool."""

    options: ServeOptions
    metrics: Metrics = field(default_factory=Metrics)
    serving: ServingRecommender | None = None
    search: TitleSearch | None = None
    limiter: anyio.CapacityLimiter | None = None

    def model(self) -> Recommender:
        """The model serving now; 503 while the first one is still loading."""
        if self.serving is None:
            raise HttpError(503, "no model loaded yet; retry when /readyz answers 200")
        return self.serving.current

    def exclusions(self, exclude: list[Any] | None) -> Any:
        """A request's excluded ids plus the serving deny list."""
        assert self.serving is not None
        return self.serving.exclusions(exclude)

    async def compute(self, route: str, work: Callable[[], T]) -> T:
        """Run ``work`` on a worker thread, timing the wait (queue) and the work (model)."""
        submitted = perf_counter()
        started: list[float] = []

        def timed() -> T:
            started.append(perf_counter())
            return work()

        try:
            return await anyio.to_thread.run_sync(timed, limiter=self.limiter)
        finally:
            done = perf_counter()
            if started:
                self.metrics.observe(route, "queue", started[0] - submitted)
                self.metrics.observe(route, "model", done - started[0])


async def read_body(request: Request, options: ServeOptions) -> bytes:
    """The request body: 413 beyond ``max_body_bytes``, 408 when not received in time."""
    limit = options.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, f"Content-Length must be a number of bytes, got {declared!r}")
        if int(declared) > limit:
            raise HttpError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    try:
        with anyio.fail_after(options.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HttpError(413, f"body exceeds the limit of {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise HttpError(408, f"body not received within {options.body_timeout_s:g} s") from None
    return b"".join(chunks)


def model_error(exc: Exception, fields: tuple[str, ...]) -> HttpError:
    """A recommender's TypeError/ValueError as 422, naming the first request field its message
    mentions (the runtime's messages name the argument at fault)."""
    if isinstance(exc, UnknownItemError):
        return HttpError(422, str(exc), "history")
    named = [word for word in WORD.findall(str(exc)) if word in fields]
    return HttpError(422, str(exc), named[0] if named else None)


Handler = Callable[[Request], Awaitable[Response]]


def create_app(options: ServeOptions, serving: ServingRecommender | None = None) -> Starlette:
    """The application serving ``options.source`` (or an already loaded ``serving``).

    The model loads at startup (before the server accepts connections), and a watcher checks
    the root for newer versions every ``options.reload_interval_s`` seconds.
    """
    state = ServerState(options, serving=serving)
    static = {
        name: resources.files("ytrec_infer.serve").joinpath("static").joinpath(name).read_bytes()
        for name in STATIC
    }

    def endpoint(route: str, handler: Handler) -> Handler:
        """Count the answer by route and status, time it, and turn errors into JSON."""

        async def answer(request: Request) -> Response:
            started = perf_counter()
            state.metrics.enter()
            try:
                response = await handler(request)
            except HttpError as exc:
                response = json_response(exc.status, exc.payload())
            except Exception:  # noqa: BLE001 - a bug must answer 500, not drop the connection
                log.exception("%s failed", route)
                response = json_response(500, {"error": "internal error", "field": None})
            finally:
                state.metrics.leave()
            state.metrics.count(route, response.status_code)
            state.metrics.observe(route, "total", perf_counter() - started)
            return response

        return answer

    async def parsed(request: Request, route: str) -> dict[str, Any]:
        started = perf_counter()
        body = parse_json(await read_body(request, options))
        state.metrics.observe(route, "parse", perf_counter() - started)
        return body

    def encoded(route: str, rec: Recommender, payload: dict[str, Any]) -> Response:
        started = perf_counter()
        version = model_version(rec)
        response = json_response(200, {"model_version": version, **payload})
        response.headers["X-Model-Version"] = version
        state.metrics.observe(route, "encode", perf_counter() - started)
        return response

    async def recommend(request: Request) -> Response:
        arguments = recommend_arguments(await parsed(request, "/recommend"), options)
        rec = state.model()

        def work() -> dict[str, Any]:
            try:
                exclude = state.exclusions(arguments.pop("exclude"))
                with timing_stages(partial(state.metrics.observe, "/recommend")):
                    found = rec.recommend(**arguments, exclude=exclude)
                return found.to_dict()
            except (TypeError, ValueError) as exc:
                raise model_error(exc, RECOMMEND_FIELDS) from None

        return encoded("/recommend", rec, await state.compute("/recommend", work))

    async def recommend_batch(request: Request) -> Response:
        arguments = batch_arguments(await parsed(request, "/recommend_batch"), options)
        rec = state.model()

        def work() -> dict[str, Any]:
            try:
                exclude = state.exclusions(arguments.pop("exclude"))
                found = rec.recommend_batch(**arguments, exclude=exclude)
                return {"results": [r.to_dict() for r in found]}
            except (TypeError, ValueError) as exc:
                raise model_error(exc, BATCH_FIELDS) from None

        return encoded("/recommend_batch", rec, await state.compute("/recommend_batch", work))

    async def item(request: Request) -> Response:
        rec = state.model()
        text = request.path_params["item_id"]
        found = find_item(rec, text)
        if found is None:
            raise HttpError(404, f"no item {text!r} in the catalog", "item_id")
        return json_response(200, found)

    async def search(request: Request) -> Response:
        rec = state.model()
        query = request.query_params.get("q", "")
        limit_text = request.query_params.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_SEARCH_RESULTS:
            raise HttpError(
                422, f"limit must be an integer from 1 to {MAX_SEARCH_RESULTS}", "limit"
            )

        def work() -> list[dict[str, Any]]:
            if state.search is None or state.search.rec is not rec:
                state.search = TitleSearch(rec)
            return state.search.search(query, int(limit_text))

        return json_response(200, {"items": await state.compute("/items", work)})

    async def schema(request: Request) -> Response:
        rec = state.model()
        return json_response(
            200,
            {
                "model_version": model_version(rec),
                "num_items": rec.num_items,
                "item_id_type": item_id_type(rec),
                "max_k": options.max_k,
                "max_batch": options.max_batch,
                "user_fields": user_fields(rec.schema),
                "context_fields": user_fields(rec.schema, "context"),
            },
        )

    async def healthz(request: Request) -> Response:
        return json_response(200, {"status": "alive"})

    async def readyz(request: Request) -> Response:
        if state.serving is None:
            return json_response(503, {"ready": False, "reason": "loading the model"})
        error = state.serving.last_error
        return json_response(
            200,
            {
                "ready": True,
                "model_version": model_version(state.serving.current),
                "num_items": state.serving.current.num_items,
                "last_reload_error": None if error is None else str(error),
            },
        )

    async def metrics(request: Request) -> Response:
        version = None if state.serving is None else model_version(state.serving.current)
        return Response(
            state.metrics.render(version), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def openapi(request: Request) -> Response:
        return json_response(200, openapi_document(options))

    def page(name: str) -> Handler:
        media = MEDIA[name[name.rindex(".") :]]

        async def send(request: Request) -> Response:
            return Response(static[name], media_type=f"{media}; charset=utf-8")

        return send

    async def watch() -> None:
        assert state.serving is not None
        while True:
            await anyio.sleep(options.reload_interval_s)
            outcome = await anyio.to_thread.run_sync(state.serving.reload)
            kind = "swapped" if outcome.swapped else "failed" if outcome.error else "unchanged"
            state.metrics.reloaded(kind)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.limiter = anyio.CapacityLimiter(options.threads)
        if state.serving is None:
            state.serving = await anyio.to_thread.run_sync(
                lambda: ServingRecommender(options.source, threads=options.intra_op_threads)
            )
        log.info("serving %s (%d items)", state.serving.version, state.serving.current.num_items)
        async with anyio.create_task_group() as tasks:
            if options.reload_interval_s > 0:
                tasks.start_soon(watch)
            yield
            tasks.cancel_scope.cancel()

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        state.metrics.count("other", status)
        message = f"no route {request.method} {request.url.path}; see /openapi.json"
        return json_response(status, {"error": message, "field": None})

    routes = [
        Route("/recommend", endpoint("/recommend", recommend), methods=["POST"]),
        Route("/recommend_batch", endpoint("/recommend_batch", recommend_batch), methods=["POST"]),
        Route("/items", endpoint("/items", search), methods=["GET"]),
        Route("/items/{item_id:path}", endpoint("/items/{id}", item), methods=["GET"]),
        Route("/schema", endpoint("/schema", schema), methods=["GET"]),
        Route("/healthz", endpoint("/healthz", healthz), methods=["GET"]),
        Route("/readyz", endpoint("/readyz", readyz), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", endpoint("/openapi.json", openapi), methods=["GET"]),
        Route("/", page("index.html"), methods=["GET"]),
        *(Route(f"/static/{name}", page(name), methods=["GET"]) for name in STATIC[1:]),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_found}
    )


def app_from_env() -> Starlette:
    """The application for a uvicorn worker, configured by ``ytrec serve`` (see options)."""
    return create_app(ServeOptions.from_env())
