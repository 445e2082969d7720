"""The schema of ``hydra.sweeper`` for loralab's Optuna sweeper, stored in Hydra's ConfigStore as
``hydra/sweeper: loralab_optuna``, so ``hparams_search=lora_optuna`` composes with no sweeper plugin
installed. Hydra imports every module of ``hydra_plugins`` at start, which registers it; nothing here
imports Optuna.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class LoralabOptunaSweeperConf:
    _target_: str = "hydra_plugins.loralab_optuna.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sweeper instantiates the sampler itself, with its seed offset
    # An Optuna sampler to instantiate; its seed is offset by the trials already in the study
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    direction: Any = "maximize"  # or minimize, or a list of both for several objectives
    # Where the study lives: None (in memory), an RDB URL (sqlite:///, postgresql://, mysql://) or
    # journal:<path> (a journal file; journal:///abs/path.log). Workers given one storage share one study.
    storage: Any = None
    study_name: Any = None  # the study's name in the storage
    n_trials: int = 20  # the study's finished trials, all workers together
    n_jobs: int = 1  # trials asked for at a time, run in parallel by a parallel launcher
    max_failure_rate: float = 0.0  # share of failed trials in a batch above which the search stops
    params: Any = None  # the search space, in Hydra's override grammar
    # A worker records a heartbeat for its running trials every heartbeat_interval seconds; a trial
    # without one for grace_period seconds is marked failed and retried up to max_retry times
    heartbeat_interval: Any = 60
    grace_period: Any = None  # None: twice heartbeat_interval
    max_retry: int = 2


ConfigStore.instance().store(group="hydra/sweeper", name="loralab_optuna", node=LoralabOptunaSweeperConf)
