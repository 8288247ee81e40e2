"""social-rm: does a reward model prefer socially desirable responses?

The package reads as its parts: `dataset_builders` (raw corpora -> social-pairs), `metric` (the self-contained
evaluate module), `scoring` (reward models -> scores), `results` (scores file, evaluation, report, plots) and
`publish` (Hub, leaderboard submissions).
"""

from social_rm.errors import SocialRMError
from social_rm.results.scores import Scores, align, read_scores, write_scores
from social_rm.scoring.kinds import KINDS, get_scorer
from social_rm.scoring.options import LoadOptions, ModelSettings
from social_rm.scoring.runner import score_pairs
from social_rm.scoring.units import Completion, Scorer

__all__ = [
    "KINDS",
    "Completion",
    "LoadOptions",
    "ModelSettings",
    "Scorer",
    "Scores",
    "SocialRMError",
    "align",
    "get_scorer",
    "read_scores",
    "score_pairs",
    "write_scores",
]
