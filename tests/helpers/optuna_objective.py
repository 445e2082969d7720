"""A Hydra app as cheap as a trial gets, for tests of the Optuna sweeper itself (train.py covers the
real path): it returns ``x + y``, after writing ``started`` in its job folder and sleeping ``seconds``,
so a test can kill its worker mid-trial.

    python tests/helpers/optuna_objective.py -m hydra.sweeper.storage=journal:<file> ...
"""

import time
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

ConfigStore.instance().store(
    name="objective",
    node={
        "defaults": ["_self_", {"override hydra/sweeper": "loralab_optuna"}],
        "x": 0,  # searched
        "y": 0,  # searched
        "seconds": 0.0,  # how long a trial takes
        "hydra": {"sweeper": {"params": {"x": "range(0, 4)", "y": "choice(0, 10, 20)"}}},
    },
)


@hydra.main(config_path=None, config_name="objective", version_base="1.3")
def objective(config: DictConfig) -> float:
    folder = Path(HydraConfig.get().runtime.output_dir)
    (folder / "started").write_text("")
    time.sleep(config.seconds)
    (folder / "done").write_text("")
    return float(config.x + config.y)


if __name__ == "__main__":
    objective()
