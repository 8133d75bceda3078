"""ytrec-infer: the YouTube DNN two-stage recommender, served with onnxruntime and hnswlib.

Load an artifact folder written by ``ytrec train`` and ask for recommendations; no PyTorch is
imported. Public names: :class:`Recommender` (the facade), its results :class:`Recommendations`
and :class:`Recommendation` (frozen dataclasses that convert to dicts and numpy arrays), the
errors :class:`ArtifactError` and :class:`UnknownItemError`, :class:`LoadOptions` (how to load:
device, threads, retrieval, ...), :class:`ServingRecommender` (hot reload of newer published
versions) with its :class:`ReloadOutcome`, and ``__version__``.

In the examples of this package, ``ARTIFACT`` is such a folder (e.g. ``"artifacts/ml100k"``)
and ``rec`` is ``Recommender.load(ARTIFACT)``; the test suite runs them all.

>>> from ytrec_infer import Recommender
>>> rec = Recommender.load(ARTIFACT)
>>> top = rec.recommend([50, 172, 181], k=3)  # item ids the user watched, oldest first
>>> len(top), top.stage
(3, 'ranked')
"""

from importlib.metadata import PackageNotFoundError, version

from ytrec_infer.errors import ArtifactError, UnknownItemError
from ytrec_infer.loading import LoadOptions
from ytrec_infer.recommender import Recommender
from ytrec_infer.reloading import ReloadOutcome, ServingRecommender
from ytrec_infer.results import Recommendation, Recommendations

try:
    __version__ = version("ytrec-infer")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
"""The installed distribution's version (``ytrec --version`` prints it)."""

__all__ = [
    "ArtifactError",
    "LoadOptions",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ReloadOutcome",
    "ServingRecommender",
    "UnknownItemError",
    "__version__",
]
