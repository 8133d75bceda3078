"""The OpenAPI 3.1 description of ``ytrec serve``, served at ``/openapi.json``.

Written by hand (Starlette generates none): the request fields mirror
:mod:`ytrec_infer.serve.payloads`, and a test checks that every route of the application is
described here and that the fields listed match the ones the server accepts.
"""

from __future__ import annotations

from typing import Any

from ytrec_infer.serve.options import ServeOptions
from ytrec_infer.serve.payloads import MAX_CANDIDATES

ITEM_ID: dict[str, Any] = {
    "oneOf": [{"type": "integer"}, {"type": "string"}],
    "description": "a catalog item id, as the catalog holds it",
}
USER: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "user attributes from the model's feature schema (GET /schema lists them)",
}
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "what was wrong"},
        "field": {"type": ["string", "null"], "description": "the request field at fault"},
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _answers(ok: str, schema: dict[str, Any], *errors: int) -> dict[str, Any]:
    reasons = {
        400: "the body is not a JSON object",
        404: "no such item",
        408: "the body did not arrive in time",
        413: "the body is larger than the server accepts",
        422: "a field is missing, unknown, of the wrong type or out of range",
        503: "no model loaded yet",
    }
    answers = {"200": {"description": ok, **_json(schema)}}
    for status in errors:
        answers[str(status)] = {"description": reasons[status], **_json(ERROR)}
    return answers


def openapi_document(options: ServeOptions) -> dict[str, Any]:
    """The OpenAPI document, with this server's limits in the request schemas.

    >>> sorted(openapi_document(ServeOptions("a"))["paths"])[:2]
    ['/', '/healthz']
    """
    common = {
        "k": {"type": "integer", "minimum": 1, "maximum": options.max_k, "default": 10},
        "n_candidates": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_CANDIDATES,
            "description": "candidates retrieved for the ranker (default max(100, k))",
        },
        "exclude_history": {"type": "boolean", "default": True},
        "exclude": {
            "type": ["array", "null"],
            "items": ITEM_ID,
            "description": "ids never to return (applied inside retrieval)",
        },
        "allowed": {
            "type": ["array", "null"],
            "items": ITEM_ID,
            "description": "the only ids to return (applied inside retrieval)",
        },
        "where": {
            "type": ["object", "null"],
            "description": "filter on item attributes, e.g. {\"genres\": [\"Comedy\"], "
            "\"release_year\": {\"min\": 1990, \"max\": 1999}}: any of the values of a "
            "categorical one, an inclusive range of a numeric one; keys combine with AND",
        },
    }
    listed: dict[str, Any] = {
        "stage": {"enum": ["ranked", "candidates", "popular"]},
        "cold_start": {"type": "boolean"},
        "unknown_ids": {"type": "array", "items": ITEM_ID},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item_id": ITEM_ID,
                    "score": {"type": "number"},
                    "title": {"type": "string"},
                    "retrieval_score": {"type": ["number", "null"]},
                    "ranker_score": {"type": ["number", "null"]},
                },
            },
        },
    }
    recommendations = {"type": "object", "properties": listed}
    versioned = {"model_version": {"type": "string", "description": "the artifact version"}}
    recommend = {
        "type": "object",
        "required": ["history"],
        "additionalProperties": False,
        "properties": {
            "history": {"type": "array", "items": ITEM_ID, "description": "oldest first"},
            "user": USER,
            "context": {
                "type": ["object", "null"],
                "description": "the request's context features (GET /schema lists them)",
            },
            "strict": {"type": "boolean", "default": False},
            **common,
        },
    }
    batch = {
        "type": "object",
        "required": ["histories"],
        "additionalProperties": False,
        "properties": {
            "histories": {
                "type": "array",
                "maxItems": options.max_batch,
                "items": {"type": "array", "items": ITEM_ID},
            },
            "users": {"type": ["array", "null"], "items": USER},
            **common,
        },
    }
    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    body_errors = (400, 408, 413, 422, 503)

    def post(summary: str, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": {"required": True, **_json(body)},
                "responses": _answers("the recommendations", answer, *body_errors),
            }
        }

    def get(summary: str, answer: dict[str, Any], *errors: int, **extra: Any) -> dict[str, Any]:
        return {"get": {"summary": summary, "responses": _answers("OK", answer, *errors), **extra}}

    any_object = {"type": "object"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "ytrec serve", "version": "1"},
        "paths": {
            "/recommend": post(
                "the top k items for one user",
                recommend,
                {"type": "object", "properties": {**versioned, **listed}},
            ),
            "/recommend_batch": post(
                "the top k items for each of many users, in one pass",
                batch,
                {
                    "type": "object",
                    "properties": {
                        **versioned,
                        "results": {"type": "array", "items": recommendations},
                    },
                },
            ),
            "/items": get(
                "catalog items whose title contains q, most popular first",
                any_object,
                422,
                503,
                parameters=[
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20}},
                ],
            ),
            "/items/{item_id}": get(
                "one catalog item: id, title, training interactions",
                any_object,
                404,
                503,
                parameters=[{"name": "item_id", "in": "path", "required": True, "schema": ITEM_ID}],
            ),
            "/schema": get("the user fields the model takes, and the limits", any_object, 503),
            "/healthz": get("the process is alive", any_object),
            "/readyz": get("a model is loaded and passed its readiness check", any_object, 503),
            "/metrics": {
                "get": {
                    "summary": "Prometheus text: requests, stage latencies, version",
                    "responses": {"200": {"description": "OK", **text}},
                }
            },
            "/openapi.json": get("this document", any_object),
            "/": {
                "get": {
                    "summary": "a page to try the recommender in a browser",
                    "responses": {"200": {"description": "HTML"}},
                }
            },
        },
    }
