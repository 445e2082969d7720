"""NoRepeatSampler: an Optuna search, fresh or resumed, never suggests an earlier trial's parameters."""

import optuna
import pytest

from loralab.sweeps.search.no_repeat_sampler import NoRepeatSampler

SPACE = {"rank": [1, 2, 4, 8], "alpha": [1, 16], "frozen": [True, False]}  # 16 combinations


def run_trials(study: optuna.Study, n: int) -> list[tuple]:
    suggested = []
    for _ in range(n):
        trial = study.ask()
        params = tuple(trial.suggest_categorical(name, choices) for name, choices in SPACE.items())
        study.tell(trial, 0.5)
        suggested.append(params)
    return suggested


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_seeded_sampler_repeats_where_the_wrapper_does_not():
    plain = run_trials(optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1234)), 16)
    assert len(set(plain)) < 16  # the reason for the wrapper: random draws repeat in a small space
    wrapped = run_trials(optuna.create_study(sampler=NoRepeatSampler(optuna.samplers.TPESampler(seed=1234), 1234)), 16)
    assert len(set(wrapped)) == 16  # every combination once


def test_a_resumed_study_suggests_new_parameters(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def resumed_sampler(seed):
        return NoRepeatSampler(optuna.samplers.TPESampler(seed=seed), seed)

    first = run_trials(optuna.create_study(study_name="s", storage=storage, sampler=resumed_sampler(7)), 2)
    # the same seed again, as a plain restart would use: the wrapper still refuses the first run's draws
    study = optuna.load_study(study_name="s", storage=storage, sampler=resumed_sampler(7))
    again = run_trials(study, 6)
    assert not set(again) & set(first) and len(set(again)) == 6
    # the plain sampler restarted from its seed draws the first run's parameters again
    plain = optuna.load_study(study_name="s", storage=storage, sampler=optuna.samplers.TPESampler(seed=7))
    assert run_trials(plain, 1)[0] == first[0]
