"""Train a text classifier as the Hydra config says: ``python train.py [overrides]``.

Examples:
    python train.py data=ag_news trainer.max_epochs=5
    python train.py model=lora_textclassifier model.lora.rank=4
    python train.py -m model.lora.rank=1,2,4,8      # a sweep
    python train.py resume=outputs/train/<run>      # continue an interrupted run in its folder
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from loralab.cli_errors import run_cli
from loralab.runs.resume import resume_arguments
from loralab.sweeps.jobs import train_or_record_failure
from loralab.training.experiment import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        metrics = train_or_record_failure(cfg, train) or {}
    else:
        metrics = run_cli(lambda: train(cfg))
    # Sweepers (Optuna) optimise the value returned here.
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    sys.argv[1:] = run_cli(lambda: resume_arguments(sys.argv[1:]))
    main()
