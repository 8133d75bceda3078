"""``ytrec serve``: the recommender as a JSON HTTP service on uvicorn, with a page to try it.

This subpackage is the runtime's only part that imports Starlette and uvicorn (the optional
``serve`` extra); ``ytrec_infer.cli`` imports it inside the ``serve`` command only, so
``import ytrec_infer`` stays light. Starlette rather than FastAPI: the service has a handful of
routes whose bodies are validated by the runtime's own checks (one message style for the
Python API and HTTP), so FastAPI's pydantic models would add a large compiled dependency and a
second validation layer; the OpenAPI document is written by hand instead. uvicorn is the
reference ASGI server: pure Python with h11, graceful shutdown and worker processes built in.

Modules: :mod:`~ytrec_infer.serve.options` (settings), :mod:`~ytrec_infer.serve.payloads`
(request bodies), :mod:`~ytrec_infer.serve.browse` (item lookup and search, user fields),
:mod:`~ytrec_infer.serve.metrics` (Prometheus text), :mod:`~ytrec_infer.serve.openapi`,
:mod:`~ytrec_infer.serve.app` (routes) and :mod:`~ytrec_infer.serve.server` (uvicorn).
"""
