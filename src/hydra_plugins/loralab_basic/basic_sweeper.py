"""Hydra's basic sweeper (one job per combination of the command line's comma lists), composing
each job's config once per set of group choices (``loralab.sweeps.job_composition``): a sweep of
few-second jobs spends its time training, not re-reading YAML. ``hydra/sweeper: loralab_basic``
is ``train.yaml``'s default; ``hydra/sweeper=basic`` gives Hydra's own.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from loralab.sweeps.job_composition import composing_once_per_group_choices


@dataclass
class LoralabBasicSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.loralab_basic.basic_sweeper.LoralabBasicSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="loralab_basic", node=LoralabBasicSweeperConf)


class LoralabBasicSweeper(BasicSweeper):
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        super().setup(
            hydra_context=composing_once_per_group_choices(hydra_context), task_function=task_function, config=config
        )

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Every job composed before the first runs, as Hydra's sweeper does; the launch reuses them."""
        self.hydra_context.config_loader.check_batch(self.config, batch)
