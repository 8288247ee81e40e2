"""social-rm: does a reward model prefer socially desirable responses?"""

from social_rm.runner import Scores, read_scores, score_pairs, write_scores
from social_rm.scorers import KINDS, Completion, ModelSettings, Scorer, get_scorer

__all__ = [
    "KINDS",
    "Completion",
    "ModelSettings",
    "Scorer",
    "Scores",
    "get_scorer",
    "read_scores",
    "score_pairs",
    "write_scores",
]
