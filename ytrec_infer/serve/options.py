"""The settings of one ``ytrec serve`` process, passed to every worker as JSON.

uvicorn starts each worker process from an import string, so the settings cannot travel as a
Python object; :meth:`ServeOptions.to_env` and :meth:`ServeOptions.from_env` carry them through
one environment variable instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

ENV_VAR = "YTREC_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What to serve and the limits that protect the server.

    ``source`` is an artifact folder or a root of published versions; ``reload_interval_s``
    is how often the root is checked for a newer version (0: never); ``threads`` is the number
    of requests computed at once per worker (the rest wait their turn); ``intra_op_threads``
    is onnxruntime's thread count per network. Requests larger than ``max_body_bytes``, with
    ``k`` above ``max_k`` or more than ``max_batch`` users are refused; a body not received
    within ``body_timeout_s`` is answered 408.

    >>> ServeOptions("artifacts/ml100k").max_k
    100
    """

    source: str
    reload_interval_s: float = 30.0
    threads: int = 4
    intra_op_threads: int = 1
    max_body_bytes: int = 1 << 20
    max_k: int = 100
    max_batch: int = 256
    body_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("threads", "intra_op_threads", "max_body_bytes", "max_k", "max_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.reload_interval_s >= 0:
            raise ValueError(f"reload_interval_s must be >= 0, got {self.reload_interval_s!r}")
        if not self.body_timeout_s > 0:
            raise ValueError(f"body_timeout_s must be > 0, got {self.body_timeout_s!r}")

    def to_env(self) -> None:
        """Store these options where :meth:`from_env` (in a worker process) finds them."""
        os.environ[ENV_VAR] = json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeOptions:
        """The options stored by :meth:`to_env`; raises RuntimeError when there are none."""
        text = os.environ.get(ENV_VAR)
        if text is None:
            raise RuntimeError(f"{ENV_VAR} is not set: start the server with `ytrec serve`")
        values = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
