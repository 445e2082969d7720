"""Sweep jobs' configs composed once per set of config-group choices.

Hydra composes every job from the files (its basic sweeper twice: once up front to check the
batch, once at launch), and a composition costs as much as a few-second job's set-up. Jobs of a
sweep mostly differ in plain values (``model.lora.rank=4 seed=2``), which Hydra applies after the
files are merged; so this loader lets Hydra compose each distinct set of group choices (and
``hydra.*`` overrides) once, and gives every job a copy with its values applied as Hydra applies
them. ``tests/test_job_composition.py`` checks that the result equals Hydra's own, config and
``hydra`` node alike. The configs the sweeper checks up front are kept for the launch, which then
composes nothing.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.defaults_list import Overrides
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, open_dict


class ComposeOncePerGroupChoices(ConfigLoaderImpl):
    """Hydra's config loader with a memory of the compositions it made, keyed by what changes the
    merged files: the config name, the group choices, the ``hydra.*`` overrides, the directory."""

    def __init__(self, config_loader: ConfigLoaderImpl) -> None:
        super().__init__(config_search_path=config_loader.get_search_path())
        self._compositions: dict[tuple, DictConfig] = {}
        self._checked: dict[tuple, list[DictConfig]] = {}  # composed by check_batch, not launched yet

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # a launcher that pickles its loader ships it without the memory
        state["_compositions"], state["_checked"] = {}, {}
        return state

    def check_batch(self, master_config: DictConfig, batch: Sequence[Sequence[str]]) -> None:
        """Compose every job of ``batch`` (a bad one raises Hydra's error before any job runs) and
        keep each config for the launcher's ``load_sweep_config`` of the same job, once."""
        for overrides in batch:
            config = self.load_sweep_config(master_config, list(overrides))
            self._checked.setdefault(self._job_key(master_config, overrides), []).append(config)

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        checked = self._checked.get(self._job_key(master_config, sweep_overrides))
        if checked:
            return checked.pop(0)
        return super().load_sweep_config(master_config, sweep_overrides)

    @staticmethod
    def _job_key(master_config: DictConfig, overrides: Sequence[str]) -> tuple:
        return (id(master_config), tuple(overrides), os.getcwd())

    def _load_configuration_impl(
        self,
        config_name: str | None,
        overrides: list[str],
        run_mode: RunMode,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> DictConfig:
        parsed, repo = self._parse_overrides_and_create_caching_repo(config_name, overrides)
        if validate_sweep_overrides:
            self.validate_sweep_overrides_legal(overrides=parsed, run_mode=run_mode, from_shell=from_shell)
        values = [o for o in Overrides(repo=repo, overrides_list=parsed).config_overrides if not o.is_hydra_override()]
        merged_files = [o.input_line for o in parsed if not any(o is value for value in values)]
        key = (config_name, run_mode, tuple(merged_files), os.getcwd())
        if key not in self._compositions:
            self._compositions[key] = super()._load_configuration_impl(
                config_name, merged_files, run_mode, from_shell, validate_sweep_overrides
            )
        cfg = copy.deepcopy(self._compositions[key])
        # What Hydra does with the values after merging the files (ConfigLoaderImpl, hydra-core 1.3).
        self._apply_overrides_to_config(values, cfg)
        task_overrides = [o for o in parsed if not o.is_hydra_override()]
        cfg.hydra.overrides.task = [o.input_line for o in task_overrides]
        with open_dict(cfg.hydra):
            for name in cfg.hydra.job.env_copy:
                cfg.hydra.job.env_set[name] = os.environ[name]
        dirname = cfg.hydra.job.config.override_dirname
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=task_overrides,
            kv_sep=dirname.kv_sep,
            item_sep=dirname.item_sep,
            exclude_keys=dirname.exclude_keys,
        )
        return cfg


def composing_once_per_group_choices(hydra_context: HydraContext) -> HydraContext:
    """The context a sweeper hands its launcher (and checks its jobs with), with the loader above."""
    return HydraContext(
        config_loader=ComposeOncePerGroupChoices(hydra_context.config_loader), callbacks=hydra_context.callbacks
    )
