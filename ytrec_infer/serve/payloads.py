"""Request bodies to keyword arguments of the recommender, with errors that name the field.

A body that is not a JSON object is answered 400; a JSON object with a missing, unknown or
wrongly typed field, or a value beyond the server's limits, is answered 422 with the field's
name. Item ids are passed to the recommender exactly as JSON gave them (integers or strings),
so the catalog's own id type decides, as in the Python API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ytrec_infer.serve.options import ServeOptions


class HttpError(Exception):
    """A request answered with ``status`` and ``{"error": message, "field": field}``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def payload(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        return {"error": self.message, "field": self.field}


MAX_CANDIDATES = 1000
RULES = ("exclude", "allowed")
FILTER = "where"
RECOMMEND_FIELDS = (
    "history", "k", "user", "context", "n_candidates", "exclude_history", "strict", *RULES, FILTER
)
BATCH_FIELDS = ("histories", "users", "k", "n_candidates", "exclude_history", *RULES, FILTER)


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not JSON or not an object."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"body must be a JSON object, got a JSON {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _fields(body: Mapping[str, Any], allowed: tuple[str, ...], required: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise HttpError(
            422, f"unknown field {unknown[0]!r}; expected any of {list(allowed)}", unknown[0]
        )
    if required not in body:
        raise HttpError(422, f"missing field {required!r}", required)


def _integer(body: Mapping[str, Any], name: str, default: int, maximum: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise HttpError(
            422, f"{name} must be an integer from 1 to {maximum}, got {json.dumps(value)}", name
        )
    return value


def _array(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise HttpError(422, f"{name} must be a JSON array of item ids, got a {_kind(value)}", name)
    return value


def _user(value: Any, name: str) -> dict[str, Any] | None:
    """A JSON object or null (``user``, ``context`` and ``where``)."""
    if value is not None and not isinstance(value, dict):
        raise HttpError(422, f"{name} must be a JSON object or null, got a {_kind(value)}", name)
    return value


def _flag(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise HttpError(422, f"{name} must be true or false, got a {_kind(value)}", name)
    return value


def _common(body: Mapping[str, Any], options: ServeOptions) -> dict[str, Any]:
    """``k``, ``n_candidates``, ``exclude_history``, the rules ``exclude`` and ``allowed``
    (arrays of ids, or null) and the attribute filter ``where`` (an object, or null; its
    conditions are checked by the recommender), shared by single and batch requests."""
    k = _integer(body, "k", 10, options.max_k)
    rules = {name: body.get(name) for name in RULES}
    for name, value in rules.items():
        if value is not None:
            _array(value, name)
    return {
        "k": k,
        "n_candidates": _integer(body, "n_candidates", max(100, k), MAX_CANDIDATES),
        "exclude_history": _flag(body, "exclude_history", True),
        **rules,
        FILTER: _user(body.get(FILTER), FILTER),
    }


def recommend_arguments(body: Mapping[str, Any], options: ServeOptions) -> dict[str, Any]:
    """Keyword arguments of ``recommend`` from a ``/recommend`` body.

    >>> recommend_arguments({"history": [50, 172], "k": 3}, ServeOptions("a"))["k"]
    3
    """
    _fields(body, RECOMMEND_FIELDS, "history")
    return {
        "history": _array(body["history"], "history"),
        "user": _user(body.get("user"), "user"),
        "context": _user(body.get("context"), "context"),
        "strict": _flag(body, "strict", False),
        **_common(body, options),
    }


def batch_arguments(body: Mapping[str, Any], options: ServeOptions) -> dict[str, Any]:
    """Keyword arguments of ``recommend_batch`` from a ``/recommend_batch`` body.

    >>> batch_arguments({"histories": [[50], [1, 2]]}, ServeOptions("a"))["users"]
    [None, None]
    """
    _fields(body, BATCH_FIELDS, "histories")
    histories = body["histories"]
    if not isinstance(histories, list):
        raise HttpError(
            422, f"histories must be a JSON array, got a {_kind(histories)}", "histories"
        )
    if len(histories) > options.max_batch:
        raise HttpError(
            422,
            f"histories has {len(histories)} entries; at most {options.max_batch} per request",
            "histories",
        )
    checked = [_array(h, f"histories[{i}]") for i, h in enumerate(histories)]
    users = body.get("users")
    if users is None:
        users = [None] * len(checked)
    elif not isinstance(users, list) or len(users) != len(checked):
        raise HttpError(
            422, f"users must be null or a JSON array of {len(checked)} objects or nulls", "users"
        )
    return {
        "histories": checked,
        "users": [_user(u, f"users[{i}]") for i, u in enumerate(users)],
        **_common(body, options),
    }
