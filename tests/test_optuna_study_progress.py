"""How workers sharing a study count it and sort out their races, on a study in memory: trials that
count towards n_trials, a duplicate drawn at the same moment, a surplus trial, and a retry that
replaces the trial it retries."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from loralab.sweeps.search.study_progress import DROPPED_ATTR, drop_reason, progress
from loralab.sweeps.search.study_storage import retry_callback

RANK = CategoricalDistribution([1, 2, 4, 8])


@pytest.fixture
def study():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize")


def ask(study, rank):
    """A running trial with ``rank``, as the sweeper suggests it."""
    study.enqueue_trial({"rank": rank})
    trial = study.ask()
    trial._suggest("rank", RANK)
    return trial


def drop(study, trial):
    trial.set_user_attr(DROPPED_ATTR, "as the sweeper drops a trial")
    study.tell(trial, state=TrialState.PRUNED)


def test_the_later_of_two_running_trials_with_the_same_parameters_is_dropped(study):
    first, second = ask(study, 2), ask(study, 2)
    assert drop_reason(study, first, n_trials=9, is_retry=False) == "duplicate of running trial 1"
    # both see each other; the one dropped first no longer counts against the other
    drop(study, first)
    assert drop_reason(study, second, n_trials=9, is_retry=False) is None
    assert progress(study).finished == 0 and progress(study).running == 1


def test_a_trial_past_n_trials_is_surplus_but_a_retry_replaces_the_trial_it_retries(study):
    for rank in (1, 2):
        study.tell(ask(study, rank), 0.5)
    surplus = ask(study, 4)
    assert drop_reason(study, surplus, n_trials=2, is_retry=False).startswith("surplus")
    drop(study, surplus)
    killed = ask(study, 8)
    study._storage.set_trial_state_values(killed._trial_id, TrialState.FAIL)  # as a stale trial is failed
    retry_callback(2)(study, study._storage.get_trial(killed._trial_id))  # re-queued with its parameters
    retry = study.ask()
    assert retry.params == {"rank": 8}
    assert drop_reason(study, retry, n_trials=3, is_retry=True) is None  # the killed trial no longer counts
    assert progress(study).finished == 2 and progress(study).running == 1  # dropped and retried trials do not count
