"""The Optuna search behind ``hparams_search``: its search space, storage, shared progress and
no-repeat sampler. Kept out of ``hydra_plugins`` (whose every module Hydra imports at each start) so
that Optuna is imported only when a search runs; the sweeper itself is
``hydra_plugins.loralab_optuna.optuna_sweeper``."""
