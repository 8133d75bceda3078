"""The two PyTorch networks of the YouTube DNN recommender and their shared layers."""

from trainers.models.candidate import CandidateModel
from trainers.models.ranker import Ranker

__all__ = ["CandidateModel", "Ranker"]
