"""Hot reload for long-running apps: swap to a newer published version without failing requests.

>>> serving = ServingRecommender("artifacts/ml100k")  # doctest: +SKIP
>>> serving.recommend([50, 172, 181], k=10)            # doctest: +SKIP
>>> outcome = serving.reload()  # e.g. from a timer thread, or serving.watch(60)  # doctest: +SKIP

Requests always run on one complete :class:`Recommender`: each call reads the current one once
(a single attribute read, atomic in CPython) and uses it to the end, so a swap never mixes two
models in one request and never drops one. :meth:`ServingRecommender.reload` runs on the
caller's thread, off the request path: it resolves the newest published version, loads it
first in a child process bounded in time and memory (:mod:`ytrec_infer.load_probe`: a version
that crashes, hangs or exhausts memory is refused without harming this process, and never
blocks a good version published after it), then here (checksums, header and graph checks,
ONNX schema, and the readiness check, which also warms every stage), and only then swaps it
in. If anything fails the old model keeps serving, and the
error is returned, logged and kept in :attr:`ServingRecommender.last_error`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.load_probe import TIMEOUT_S as PROBE_TIMEOUT_S
from ytrec_infer.load_probe import probe
from ytrec_infer.artifact import MANIFEST
from ytrec_infer.loading import LoadOptions, choose_options
from ytrec_infer.recommender import History, ItemIds, Recommender
from ytrec_infer.results import Recommendations
from ytrec_infer.validation import item_id_array
from ytrec_infer.versions import resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    """What one :meth:`ServingRecommender.reload` did.

    ``swapped`` is true when a new version now serves; ``version`` is the folder serving after
    the call; ``error`` is the exception that kept the old one serving (None on success or
    when nothing had changed).

    >>> outcome = serving.reload()  # nothing newer was published
    >>> outcome.swapped, outcome.error
    (False, None)
    """

    swapped: bool
    version: Path
    error: Exception | None = None


def _fingerprint(folder: Path) -> tuple[Path, str]:
    """A folder and the sha256 of its manifest: equal fingerprints mean the same artifact."""
    digest = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    return folder.resolve(), digest


class ServingRecommender:
    """Holds the :class:`Recommender` that serves now, and swaps in newer versions of ``root``.

    ``root`` is a root of published versions or a plain artifact folder (replaced in place by
    a re-export). The load arguments (or ``options=``) are those of :meth:`Recommender.load`,
    kept in :attr:`options` and reused by every reload. The request methods mirror
    :class:`Recommender`'s and are safe to call from many threads while another thread reloads.

    >>> serving = ServingRecommender(ARTIFACT)
    >>> len(serving.recommend([50, 172, 181], k=3))
    3
    """

    def __init__(
        self,
        root: str | Path,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        device: str | None = None,
        retrieval: str | None = None,
        float16: bool | None = None,
        *,
        options: LoadOptions | None = None,
        probe_timeout_s: float | None = PROBE_TIMEOUT_S,
    ) -> None:
        self.root = Path(root)
        self.options = choose_options(options, providers, threads, device, retrieval, float16)
        """How every version is loaded, the first and each reload alike."""
        self.probe_timeout_s = probe_timeout_s
        """Time bound of the bounded child-process load each reload runs first
        (:mod:`ytrec_infer.load_probe`); None loads new versions in this process directly."""
        self._refused: tuple[Path, str] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.last_error: Exception | None = None
        self._denied = np.zeros(0, np.int64)
        self._deny_lock = threading.Lock()  # not the reload lock: a reload may take seconds
        folder = resolve(self.root)
        self._fingerprint = _fingerprint(folder)  # taken first: a later change is then seen
        self._current = self._load(folder)

    def _load(self, folder: Path) -> Recommender:
        return Recommender.load(folder, options=self.options)

    @property
    def current(self) -> Recommender:
        """The model serving now (keep the reference for a multi-call job on one model).

        >>> model = serving.current  # stays the same object even if a reload swaps meanwhile
        >>> model.manifest.root == serving.version
        True
        """
        return self._current

    @property
    def version(self) -> Path:
        """The artifact folder serving now.

        >>> serving.version.joinpath("manifest.json").is_file()
        True
        """
        return self._current.manifest.root

    @property
    def denied(self) -> np.ndarray:
        """The ids no request gets back, whatever it asks (see :meth:`deny`).

        >>> serving.denied.tolist()
        []
        """
        return self._denied

    def deny(self, item_ids: ItemIds) -> None:
        """Never return these ids again (an item taken down), from the next request on, on
        this version and every reloaded one; no reload needed.

        >>> serving.deny([181])
        >>> 181 in serving.recommend([50, 172], k=20).item_ids
        False
        >>> serving.restore([181])
        """
        with self._deny_lock:
            self._denied = np.union1d(self._denied, item_id_array(item_ids, "item_ids"))

    def restore(self, item_ids: ItemIds) -> None:
        """Take ids off the deny list again.

        >>> serving.deny([1, 2]); serving.restore([1]); serving.denied.tolist()
        [2]
        >>> serving.restore([2])
        """
        with self._deny_lock:
            self._denied = np.setdiff1d(self._denied, item_id_array(item_ids, "item_ids"))

    def exclusions(self, exclude: ItemIds | None = None) -> ItemIds | None:
        """A request's ``exclude`` ids plus the deny list: what the request methods pass on
        (for callers that use :attr:`current` directly, as a server does).

        >>> serving.deny([7]); serving.exclusions([5]).tolist()
        [7, 5]
        >>> serving.restore([7])
        """
        denied = self._denied
        if not len(denied):
            return exclude
        if exclude is None:
            return denied
        return np.concatenate([denied, item_id_array(exclude, "exclude")])

    def recommend(
        self,
        history: History,
        k: int = 10,
        user: Mapping[str, Any] | None = None,
        n_candidates: int = 100,
        exclude_history: bool = True,
        strict: bool = False,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """:meth:`Recommender.recommend` on the current model, never returning denied ids.

        >>> serving.recommend([50, 172, 181], k=3).stage
        'ranked'
        """
        return self._current.recommend(
            history,
            k,
            user,
            n_candidates,
            exclude_history,
            strict,
            self.exclusions(exclude),
            allowed,
            where,
            context,
        )

    def recommend_batch(
        self,
        histories: Sequence[History],
        k: int = 10,
        users: Sequence[Mapping[str, Any] | None] | None = None,
        n_candidates: int = 100,
        exclude_history: bool = True,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        contexts: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[Recommendations]:
        """:meth:`Recommender.recommend_batch` on the current model (one model for the batch),
        never returning denied ids.

        >>> [len(r) for r in serving.recommend_batch([[50, 172], [1, 2, 3]], k=4)]
        [4, 4]
        """
        return self._current.recommend_batch(
            histories,
            k,
            users,
            n_candidates,
            exclude_history,
            self.exclusions(exclude),
            allowed,
            where,
            contexts,
        )

    def candidates(
        self,
        history: History,
        n: int = 100,
        user: Mapping[str, Any] | None = None,
        exclude_history: bool = True,
        strict: bool = False,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """:meth:`Recommender.candidates` on the current model, never returning denied ids.

        >>> len(serving.candidates([50, 172, 181], n=20))
        20
        """
        return self._current.candidates(
            history, n, user, exclude_history, strict, self.exclusions(exclude), allowed, where,
            context,
        )

    def rank(
        self,
        history: History,
        item_ids: Sequence[int] | np.ndarray,
        user: Mapping[str, Any] | None = None,
        strict: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """:meth:`Recommender.rank` on the current model.

        >>> sorted(r.item_id for r in serving.rank([50, 172], [1, 2, 3]))
        [1, 2, 3]
        """
        return self._current.rank(history, item_ids, user, strict, context)

    def reload(self) -> ReloadOutcome:
        """Load, verify and warm the newest version, then swap it in; never raises for a bad one.

        Concurrent calls are serialised; one that finds the serving artifact unchanged does
        nothing. On failure the old model keeps serving and the error is returned and logged.

        >>> serving.reload().swapped  # the same artifact: nothing to swap
        False
        """
        with self._lock:
            try:
                folder = resolve(self.root)
                fingerprint = _fingerprint(folder)
                if fingerprint == self._fingerprint:
                    return ReloadOutcome(False, self.version)
                if fingerprint == self._refused:  # probed and refused: not again every tick
                    return ReloadOutcome(False, self.version, self.last_error)
                if self.probe_timeout_s is not None:
                    self._refused = fingerprint
                    probe(folder, self.options, self.probe_timeout_s)
                fresh = self._load(folder)
            except Exception as exc:  # noqa: BLE001 - any failure must leave the old model serving
                self.last_error = exc
                log.error("reload of %s failed; still serving %s: %s", self.root, self.version, exc)
                return ReloadOutcome(False, self.version, exc)
            self._current, self._fingerprint = fresh, fingerprint
            self._refused = None
            self.last_error = None
            log.info("now serving %s", folder)
            return ReloadOutcome(True, folder)

    def watch(self, interval_s: float) -> None:
        """Call :meth:`reload` every ``interval_s`` seconds on a daemon thread until :meth:`stop`.

        >>> serving.watch(3600)  # look for a newer version every hour
        >>> serving.stop()
        """
        if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)):
            raise TypeError(f"interval_s must be a number, got {type(interval_s).__name__}")
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if self._watcher is not None:
            raise RuntimeError("already watching; call stop() first")
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.reload()

        self._watcher = threading.Thread(target=loop, name="ytrec-reload", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop the :meth:`watch` thread (waits for a reload in progress to finish).

        >>> serving.watch(60)
        >>> serving.stop()
        """
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
