"""Hydra's override grammar as Optuna distributions (what ``hydra.sweeper.params`` means), the
spellings ``hydra.sweeper.storage`` takes, and a study summary's errors."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import JournalStorage

from loralab.sweeps.search.search_space import search_space
from loralab.sweeps.search.study_storage import journal_path, open_storage
from loralab.sweeps.search.study_summary import study_report


def test_each_sweep_of_the_grammar_is_an_optuna_distribution():
    space, fixed = search_space(
        [
            "model.lora.rank=choice(1, 2, 4)",
            "model.freeze_embeddings=choice(true, false)",
            "layers=range(1, 9, step=2)",  # both ends included, as hydra-optuna-sweeper reads it
            "dropout=range(0.0, 0.5, step=0.1)",
            "order=shuffle(range(1, 4))",
            "optim.optimizer.lr=tag(log, interval(0.001, 0.1))",
            "warmup=interval(0, 10)",
            "model.lora.alpha=1,8",
            "seed=7",
            "~callbacks.progress_bar",
        ]
    )
    assert space["model.lora.rank"] == CategoricalDistribution([1, 2, 4])
    assert space["model.freeze_embeddings"] == CategoricalDistribution([True, False])
    assert space["layers"] == IntDistribution(1, 9, step=2)
    assert space["dropout"] == FloatDistribution(0.0, 0.5, step=0.1)
    assert sorted(space["order"].choices) == [1, 2, 3]
    assert space["optim.optimizer.lr"] == FloatDistribution(0.001, 0.1, log=True)
    assert space["warmup"] == FloatDistribution(0.0, 10.0)  # Hydra's interval is always a float one
    assert space["model.lora.alpha"] == CategoricalDistribution([1, 8])
    assert fixed == ["seed=7", "~callbacks.progress_bar"]


def test_a_key_fixed_on_the_command_line_leaves_the_search_space():
    space, fixed = search_space(["model.lora.rank=choice(1, 2)", "model.lora.alpha=choice(1, 8)", "model.lora.alpha=4"])
    assert list(space) == ["model.lora.rank"] and fixed == ["model.lora.alpha=4"]


def test_a_glob_is_refused_with_the_spelling_to_use():
    with pytest.raises(ValueError, match=r"model=glob\(\*\): .*list the values with choice"):
        search_space(["model=glob(*)"])


def test_storage_spellings(tmp_path):
    assert journal_path("journal:///shared/study.log").as_posix() == "/shared/study.log"
    assert journal_path("journal:runs/study.log").as_posix() == "runs/study.log"
    assert isinstance(open_storage(f"journal:{tmp_path / 'a' / 'study.log'}", 60, None, 2), JournalStorage)
    assert open_storage(None, 60, None, 2) is None
    with pytest.raises(ValueError, match="hydra.sweeper.storage=redis://host is neither .* journal:<file>"):
        open_storage("redis://host", 60, None, 2)


def test_a_study_summary_names_a_missing_storage_or_study_without_creating_one(tmp_path):
    for storage in (f"journal:{tmp_path / 'none' / 'study.log'}", f"sqlite:///{tmp_path / 'none.db'}"):
        with pytest.raises(FileNotFoundError, match="does not exist; pass the storage the search wrote"):
            study_report(storage)
    assert not list(tmp_path.iterdir())
    storage = f"journal:{tmp_path / 'study.log'}"
    optuna.create_study(study_name="lora_optuna", storage=open_storage(storage, None, None, 0))
    with pytest.raises(ValueError, match=r"holds the studies \['lora_optuna'\]; pass the study's name"):
        study_report(storage, "other")
    assert study_report(storage).startswith(f"study lora_optuna in {storage}: 0 trials finished")
