"""hydra-submitit-launcher's launchers with loralab's rule for a job killed without a result
(``loralab/sweeps/submitit_launchers.py``). Hydra instantiates launchers only from the
``hydra_plugins`` package, hence this module's place; ``conf/hydra/launcher/slurm.yaml`` and
``slurm_local.yaml`` name them."""

from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from loralab.sweeps.submitit_launchers import RecordsKilledJobs


class SlurmLauncher(RecordsKilledJobs, submitit_launcher.SlurmLauncher):
    """Each job of a sweep a SLURM job."""


class LocalLauncher(RecordsKilledJobs, submitit_launcher.LocalLauncher):
    """The same jobs, pickled and run as processes of this machine (a rehearsal of SLURM)."""
