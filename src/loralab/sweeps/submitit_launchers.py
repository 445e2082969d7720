"""loralab's rule for a failed sweep job, for hydra-submitit-launcher (SLURM, and submitit's local
executor). A job that raises records itself (``jobs.py``); a job that dies without a result (killed at
its time limit, out of memory, preempted, ``scancel``) cannot, and the plugin's launcher ends the
sweep with submitit's ``UncompletedJobError`` traceback and no summary. ``RecordsKilledJobs`` records
such a job as failed in its folder (``failure.json``, naming its submitit log) and keeps the other
jobs' results, so the sweep ends as one with a failed job does: its summary, then exit 1.

Hydra instantiates launchers only from the ``hydra_plugins`` package: a launcher there combines
``RecordsKilledJobs`` with the plugin's ``SlurmLauncher`` or ``LocalLauncher``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import OmegaConf, open_dict

from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from loralab.atomic_files import atomic_write_json, atomic_write_text
from loralab.sweeps.jobs import FAILURE_FILE

KILLED_ERROR = "JobKilled"


def record_killed_job(job_dir: Path, overrides: Sequence[str], log_file: str | Path) -> None:
    """``failure.json`` in ``job_dir``, and the job's ``.hydra/overrides.yaml`` if it died before
    writing it: the summary lists the job and the sweep's exit status counts it."""
    overrides_file = job_dir / ".hydra" / "overrides.yaml"
    if not overrides_file.is_file():
        overrides_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(overrides_file, OmegaConf.to_yaml(list(overrides)))
    message = f"the job ended without a result (time limit, memory, preemption or scancel); its log: {log_file}"
    atomic_write_json(job_dir / FAILURE_FILE, {"error": KILLED_ERROR, "message": message})


def job_returns(
    jobs: Sequence[Any], job_overrides: Sequence[Sequence[str]], job_dir: Callable[[int], Path]
) -> list[JobReturn]:
    """Each submitit job's result, in order; a job with none (submitit's ``UncompletedJobError``) is
    recorded by ``record_killed_job`` in ``job_dir(<its index>)`` and returns None, as a job that
    recorded its own failure does."""
    from submitit.core.utils import UncompletedJobError

    returns = []
    for index, (job, overrides) in enumerate(zip(jobs, job_overrides)):
        try:
            returns.append(job.results()[0])
        except UncompletedJobError:
            record_killed_job(job_dir(index), overrides, job.paths.stderr)
            returns.append(JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED, _return_value=None))
    return returns


class RecordsKilledJobs(submitit_launcher.BaseSubmititLauncher):
    """The plugin's launcher with ``launch`` collecting its results through ``job_returns``."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """The plugin's ``launch`` (hydra-submitit-launcher 1.2), but its results go through ``job_returns``."""
        import submitit

        assert self.config is not None and len(job_overrides) > 0
        init_params = {"folder": self.params["submitit_folder"]}
        specific_init_keys = {"max_num_timeout"}
        init_params.update({f"{self._EXECUTOR}_{x}": y for x, y in self.params.items() if x in specific_init_keys})
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init_params)
        base_keys = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                x if x in base_keys else f"{self._EXECUTOR}_{x}": y
                for x, y in self.params.items()
                if x not in specific_init_keys | {"submitit_folder"}
            }
        )
        submitit_launcher.log.info(f"Submitit '{self._EXECUTOR}' sweep output dir : {self.config.hydra.sweep.dir}")
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        job_params = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            submitit_launcher.log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
        jobs = executor.map_array(self, *zip(*job_params))
        return job_returns(
            jobs, job_overrides, lambda index: self._job_dir(job_overrides[index], initial_job_idx + index)
        )

    def _job_dir(self, overrides: Sequence[str], job_num: int) -> Path:
        """The folder the job was given: its config composed and resolved as Hydra's ``run_job`` does."""
        assert self.hydra_context is not None and self.config is not None
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(config.hydra.job):
            config.hydra.job.num = job_num
        sweep_config = HydraConfig.instance().cfg
        HydraConfig.instance().set_config(config)  # ${hydra:...} in the folder's name resolves against the job
        try:
            return Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
        finally:
            HydraConfig.instance().cfg = sweep_config
