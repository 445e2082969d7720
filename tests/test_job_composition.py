"""A sweep job's config composed from the memory of an earlier composition (loralab's sweepers) is
the config Hydra composes from the files: the job's keys, its ``hydra`` node and its errors."""

import copy
import os
import pickle
import shutil
import subprocess
import sys

import pytest
from helpers.paths import CONFIG_DIR, PROJECT_ROOT
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import tiny_run_overrides
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import create_config_search_path
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf

from loralab.sweeps.job_composition import ComposeOncePerGroupChoices

SWEEP = ["experiment=sweep_lora_variants", "model.pretrained=/nowhere/base"]


@pytest.fixture(scope="module")
def hydra_loader():
    return ConfigLoaderImpl(config_search_path=create_config_search_path(str(CONFIG_DIR)))


@pytest.fixture(scope="module")
def master(hydra_loader):
    """The multirun's own config, as the sweeper gets it (its ``hydra.*`` overrides are every job's)."""
    hydra_overrides = ["hydra.sweep.dir=/tmp/a_sweep", "hydra.job.chdir=false"]
    return hydra_loader.load_configuration("train", hydra_overrides, RunMode.MULTIRUN)


JOBS = {
    "values only": [*SWEEP, "model.lora.rank=2", "seed=1"],
    "the same values in another order": ["seed=1", *SWEEP, "model.lora.rank=2"],
    "other values, same groups": [*SWEEP, "model.lora.rank=8", "model.lora.variant=dora", "seed=3"],
    "another model group": ["model=lora_distilbert", "model.lora.rank=4", "model.lora.target_modules=[q_lin,v_lin]"],
    "a data group and an added key": ["data=ag_news", "model=lora_textclassifier", "+extra.note=hello"],
    "a group removed": ["~logger", "seed=7"],
    "a forced key": ["++trainer.max_epochs=5", "experiment=imdb_lora", "optim.optimizer.lr=0.5"],
    "a dict value": ["model=lora_textclassifier", "model.lora={rank: 3, alpha: 6}"],
    "a list value with quotes": ["model=lora_textclassifier", "model.lora.target_modules=['fc1']", "task_name='a b'"],
    "an Optuna search's trial": ["hparams_search=lora_optuna", *SWEEP, "model.lora.alpha=16"],
}


@pytest.mark.parametrize("overrides", JOBS.values(), ids=JOBS.keys())
def test_a_job_from_memory_equals_hydra_s_composition(hydra_loader, master, overrides):
    ours = ComposeOncePerGroupChoices(hydra_loader)
    first = ours.load_sweep_config(master, list(overrides))
    again = ours.load_sweep_config(master, list(overrides))  # from memory
    expected = OmegaConf.to_yaml(hydra_loader.load_sweep_config(master, list(overrides)))
    assert OmegaConf.to_yaml(first) == expected
    assert OmegaConf.to_yaml(again) == expected
    assert len(ours._compositions) == 1


def test_jobs_that_differ_in_values_share_one_composition_and_not_one_object(hydra_loader, master):
    ours = ComposeOncePerGroupChoices(hydra_loader)
    jobs = [
        ours.load_sweep_config(master, [*SWEEP, f"model.lora.rank={r}", f"seed={s}"]) for r in (1, 2) for s in (1, 2)
    ]
    assert len(ours._compositions) == 1
    assert [(j.model.lora.rank, j.seed) for j in jobs] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert [list(j.hydra.overrides.task)[-1] for j in jobs] == ["seed=1", "seed=2", "seed=1", "seed=2"]
    jobs[0].model.lora.alpha = 99.0  # a job that changes its config changes no other job's
    assert ours.load_sweep_config(master, [*SWEEP, "model.lora.rank=1"]).model.lora.alpha != 99.0
    ours.load_sweep_config(master, ["model=lora_distilbert"])
    assert len(ours._compositions) == 2


def test_the_configs_checked_up_front_are_the_ones_launched_each_once(hydra_loader, master):
    ours = ComposeOncePerGroupChoices(hydra_loader)
    batch = [[*SWEEP, f"seed={seed}"] for seed in (1, 2, 2)]  # a job listed twice is two jobs
    ours.check_batch(master, batch)
    launched = [ours.load_sweep_config(master, list(job)) for job in batch]
    assert [job.seed for job in launched] == [1, 2, 2] and launched[1] is not launched[2]
    assert all(OmegaConf.to_yaml(job) == OmegaConf.to_yaml(hydra_loader.load_sweep_config(master, list(overrides)))
               for job, overrides in zip(launched, batch))  # fmt: skip
    again = ours.load_sweep_config(master, list(batch[0]))  # not checked again: composed afresh
    assert again is not launched[0] and again.seed == 1


BAD_JOBS = {
    "a key that does not exist": ["model=lora_textclassifier", "model.lora.rankk=2"],
    "a value of the wrong type": ["seed=abc"],
    "a group option that does not exist": ["model=lora_nothing"],
    "a deletion of a key that is not there": ["~model.nothing"],
}


@pytest.mark.parametrize("overrides", BAD_JOBS.values(), ids=BAD_JOBS.keys())
def test_a_bad_job_fails_with_hydra_s_own_error(hydra_loader, master, overrides):
    errors = []
    for loader in (hydra_loader, ComposeOncePerGroupChoices(hydra_loader)):
        with pytest.raises(HydraException) as error:
            loader.load_sweep_config(master, list(overrides))
        errors.append((type(error.value), str(error.value)))
    assert errors[0] == errors[1]


def test_a_pickled_loader_leaves_its_memory_behind(hydra_loader, master):
    """Launchers that run jobs elsewhere (submitit) pickle the loader with their context."""
    ours = ComposeOncePerGroupChoices(hydra_loader)
    ours.load_sweep_config(master, list(SWEEP))
    shipped = pickle.loads(pickle.dumps(ours))
    assert shipped._compositions == {} and len(ours._compositions) == 1
    assert OmegaConf.to_yaml(shipped.load_sweep_config(master, list(SWEEP))) == OmegaConf.to_yaml(
        copy.deepcopy(ours).load_sweep_config(master, list(SWEEP))
    )


@pytest.mark.integration
def test_a_real_multirun_writes_the_job_configs_hydra_s_basic_sweeper_writes(tmp_path):
    """Four jobs over two model groups and two seeds, once with the default sweeper and once with
    ``hydra/sweeper=basic``, in the same sweep folder: every job's saved config is the same. Each
    job stops at its first check (batch size 0), after Hydra wrote its ``.hydra`` files: what is
    compared is the composition, and the test does not wait for training."""
    sweep_dir = tmp_path / "sweep"
    overrides = tiny_run_overrides(write_tiny_data(tmp_path / "data")) + [
        "model=textclassifier,lora_textclassifier",
        "seed=1,2",
        "data.batch_size=0",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LORALAB_CACHE_DIR": str(tmp_path / "cache")}
    saved = {}
    for sweeper in ([], ["hydra/sweeper=basic"]):
        result = subprocess.run(
            [sys.executable, "train.py", "-m", *overrides, *sweeper],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
        assert result.returncode == 1 and "4 of 4 sweep jobs failed" in result.stderr, result.stderr[-2000:]
        assert "data.batch_size=0" in (sweep_dir / "0" / "failure.json").read_text()
        saved[tuple(sweeper)] = {job: _job_configs(sweep_dir / job) for job in ("0", "1", "2", "3")}
        shutil.move(sweep_dir, tmp_path / f"sweep_{len(saved)}")
    ours, hydras = saved[()], saved[("hydra/sweeper=basic",)]
    assert [ours[job]["config"]["model"]["lora"] is None for job in ours] == [True, True, False, False]
    assert ours == hydras


def _job_configs(job_dir):
    """A job's saved config, overrides and hydra node, less what names the sweeper itself."""
    config = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra" / "config.yaml"))
    hydra = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra" / "hydra.yaml"))["hydra"]
    del hydra["sweeper"], hydra["runtime"]["choices"]["hydra/sweeper"]
    hydra["overrides"]["hydra"] = [o for o in hydra["overrides"]["hydra"] if not o.startswith("hydra/sweeper=")]
    overrides = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml"))
    return {"config": config, "hydra": hydra, "overrides": overrides}
