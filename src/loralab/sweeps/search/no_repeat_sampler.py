"""An Optuna sampler that never suggests the parameters of a trial the study already has.

Samplers draw each parameter on its own, so in a small discrete space (ranks x alphas x frozen or
not) they repeat earlier trials, and a resumed search repeats the first run's draws: a repeated
trial costs a whole training run and tells nothing new. This wrapper draws a trial's parameters
together and draws again while they equal an earlier trial's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

BASE_DRAWS = 10  # draws from the wrapped sampler (its own model) before falling back to random ones
RANDOM_DRAWS = 1000  # then uniform draws; a space with no combination left gives a repeat


class NoRepeatSampler(BaseSampler):
    """``base``'s suggestions, less those an earlier trial had; ``seed`` seeds the random fallback."""

    def __init__(self, base: BaseSampler, seed: int | None = None) -> None:
        self.base = base
        self._random = RandomSampler(seed=seed)
        self._search_space = IntersectionSearchSpace()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """Every parameter the completed trials share: those of the search (none for the first trial,
        which then draws from the wrapped sampler alone)."""
        return self._search_space.calculate(study)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        earlier = {
            _key(other.params, search_space)
            for other in study.get_trials(deepcopy=False)
            if other.number != trial.number and set(search_space) <= set(other.params)
        }
        params: dict[str, Any] = {}
        for draw in range(BASE_DRAWS + RANDOM_DRAWS):
            sampler = self.base if draw < BASE_DRAWS else self._random
            params = self._draw(sampler, study, trial, search_space)
            if _key(params, search_space) not in earlier:
                break
        return params

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._random.reseed_rng()

    @staticmethod
    def _draw(
        sampler: BaseSampler, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        relative_space = sampler.infer_relative_search_space(study, trial)
        params = dict(sampler.sample_relative(study, trial, relative_space)) if relative_space else {}
        for name, distribution in search_space.items():
            if name not in params:
                params[name] = sampler.sample_independent(study, trial, name, distribution)
        return {name: params[name] for name in search_space}


def _key(params: dict[str, Any], search_space: dict[str, BaseDistribution]) -> tuple:
    return tuple(repr(params[name]) for name in sorted(search_space))
