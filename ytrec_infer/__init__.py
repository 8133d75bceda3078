"""ytrec-infer: the YouTube DNN two-stage recommender, served with onnxruntime and hnswlib.

>>> from ytrec_infer import Recommender
>>> rec = Recommender.load("artifacts/ml100k")  # doctest: +SKIP
>>> [r.title for r in rec.recommend([50, 172, 181], k=3)]  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from ytrec_infer.errors import ArtifactError, UnknownItemError
from ytrec_infer.recommender import Recommender
from ytrec_infer.reloading import ReloadOutcome, ServingRecommender
from ytrec_infer.results import Recommendation, Recommendations

try:
    __version__ = version("ytrec-infer")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = [
    "ArtifactError",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ReloadOutcome",
    "ServingRecommender",
    "UnknownItemError",
    "__version__",
]
