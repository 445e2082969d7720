"""TensorBoard's HPARAMS tab with the run's real metrics (``val/acc_best``, ``test/acc``), not
Lightning's placeholder ``hp_metric``, so a sweep folder compares its jobs in one table.

Each run writes its session (hyperparameters typed as TensorBoard reads them: booleans as
booleans) and no experiment description: TensorBoard then builds the table from the sessions it
finds, keys whose values differ first (the ones its HPARAMS tab ticks). When a multirun ends,
``write_sweep_experiment`` gives the sweep one description: the same order, and the headline
metric columns instead of every scalar.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import lightning as L
from google.protobuf import struct_pb2
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from loralab.overrides import override_key

# Shown for every run, swept or not, so runs of different sweeps line up.
HPARAM_KEYS = [
    "model.lora.rank",
    "model.lora.alpha",
    "model.freeze_embeddings",
    "optim.optimizer.lr",
    "data.batch_size",
    "trainer.max_epochs",
    "seed",
]
HPARAM_METRICS = ["val/acc_best", "test/acc", "test/f1", "trainable_params"]
EXPERIMENT_RUN = "hparams"  # the sweep's experiment description: <sweep folder>/hparams/
SWEEP_PLOT_TAG = "sweep/summary"  # summary.png in that run's IMAGES
_IGNORED_PREFIXES = ("paths.", "hydra.", "callbacks.", "logger.")


def _scalar(value: Any) -> bool | int | float | str:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _hydra_job() -> tuple[list[str], dict[str, str]]:
    """The running Hydra job's overridden keys (a sweep's swept keys among them; not those that
    only say where files go) and the option chosen in each config group (``model`` ->
    ``lora_textclassifier``)."""
    if not HydraConfig.initialized():
        return [], {}
    hydra = HydraConfig.get()
    keys = [override_key(override) for override in hydra.overrides.task]
    choices = {group: str(option) for group, option in hydra.runtime.choices.items() if option is not None}
    return [key for key in keys if not key.startswith(_IGNORED_PREFIXES)], choices


def run_hparams(cfg: DictConfig) -> dict[str, bool | int | float | str]:
    """The run's hyperparameters: the fixed keys above and every key overridden for this run; an
    overridden config group reads as the option chosen (``model=lora_textclassifier``), not as the
    whole config it holds."""
    overridden, choices = _hydra_job()
    values = {}
    for key in dict.fromkeys(HPARAM_KEYS + overridden):
        if key in choices:
            values[key] = choices[key]
            continue
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig):  # a config without a group of its own: no one value to show
            continue
        if value is not None:
            values[key] = _scalar(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)
    return values


def _value(value: bool | int | float | str) -> struct_pb2.Value:
    if isinstance(value, bool):  # before int: bool is an int to Python, and read 1.0000 in TensorBoard
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, (int, float)):
        return struct_pb2.Value(number_value=value)
    return struct_pb2.Value(string_value=str(value))


def _summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    data.version = metadata.PLUGIN_DATA_VERSION
    plugin = SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString())
    return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])


def session_summaries(hparams: dict[str, bool | int | float | str]) -> list[Summary]:
    """A finished session: its start (the hyperparameters) and its end (success)."""
    start = plugin_data_pb2.SessionStartInfo()
    for name, value in hparams.items():
        start.hparams[name].CopyFrom(_value(value))
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return [
        _summary(metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=start)),
        _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end)),
    ]


def log_hparams_with_metrics(trainer: L.Trainer, cfg: DictConfig, metrics: dict[str, float]) -> None:
    """Write the HPARAMS session of this run; its metric columns read the scalars of the same tags."""
    shown = {name: float(metrics[name]) for name in HPARAM_METRICS if name in metrics}
    for logger in trainer.loggers:
        if not isinstance(logger, TensorBoardLogger) or not shown:
            continue
        if "trainable_params" in shown:  # not a logged scalar yet: log it so the column has a value
            logger.experiment.add_scalar("trainable_params", shown["trainable_params"], trainer.global_step)
        writer = logger.experiment._get_file_writer()
        for summary in session_summaries(run_hparams(cfg)):
            writer.add_summary(summary)
        logger.experiment.flush()


def _hparam_info(name: str, values: list[bool | int | float | str]) -> api_pb2.HParamInfo:
    """One column: its type, the values it takes, and whether they differ between runs."""
    distinct = set(values)
    info = api_pb2.HParamInfo(name=name, differs=len(distinct) > 1)
    if all(isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_BOOL
        info.domain_discrete.extend([False, True])
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_interval.min_value, info.domain_interval.max_value = min(values), max(values)
    else:
        info.type = api_pb2.DATA_TYPE_STRING
        info.domain_discrete.extend(sorted(map(str, distinct)))
    return info


def sweep_experiment(runs_hparams: list[dict[str, bool | int | float | str]]) -> api_pb2.Experiment:
    """The HPARAMS columns of a sweep: the keys whose values differ between its runs first (and
    marked so), then the constant ones, each group by name; then the headline metrics."""
    values: dict[str, list] = {}
    for hparams in runs_hparams:
        for name, value in hparams.items():
            values.setdefault(name, []).append(value)
    infos = [_hparam_info(name, column) for name, column in values.items()]
    infos.sort(key=lambda info: (not info.differs, info.name))
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in HPARAM_METRICS]
    return api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)


def _python_value(value: struct_pb2.Value) -> bool | float | str:
    return getattr(value, value.WhichOneof("kind"))


def read_sessions(sweep_dir: str | Path) -> list[dict[str, bool | float | str]]:
    """The hyperparameters of every session written under ``sweep_dir``, as TensorBoard reads them,
    in the order of the event files' paths."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    sweep_dir = Path(sweep_dir)
    sessions = []
    for path in sorted(sweep_dir.rglob("events.out.tfevents.*")):
        if path.parent == sweep_dir / EXPERIMENT_RUN:
            continue
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if (
                    value.tag == metadata.SESSION_START_INFO_TAG
                    and value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME
                ):
                    start = metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
                    sessions.append({name: _python_value(v) for name, v in start.hparams.items()})
    return sessions


def write_sweep_experiment(
    sweep_dir: str | Path, runs_hparams: list[dict[str, bool | int | float | str]], summary_png: Path | None = None
) -> Path:
    """Write the sweep's experiment description into ``<sweep_dir>/hparams/`` (replacing an older
    one: TensorBoard reads the first it finds), where TensorBoard pointed at the sweep finds it; with
    ``summary_png`` (the sweep's ``summary.png``), that picture too, in the IMAGES tab as
    ``SWEEP_PLOT_TAG``."""
    from torch.utils.tensorboard import SummaryWriter  # here: only a multirun's end needs it

    folder = Path(sweep_dir) / EXPERIMENT_RUN
    if folder.is_symlink() or folder.is_file():  # a handed-over sweep's link: removed, never written through
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    data = plugin_data_pb2.HParamsPluginData(experiment=sweep_experiment(runs_hparams))
    with SummaryWriter(str(folder)) as writer:
        writer._get_file_writer().add_summary(_summary(metadata.EXPERIMENT_TAG, data))
        if summary_png is not None and summary_png.is_file():
            writer.add_image(SWEEP_PLOT_TAG, _png_pixels(summary_png), dataformats="HWC")
    return folder


def _png_pixels(path: Path):
    """The RGB pixels of a PNG (height x width x 3, 0-255)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[..., :3]
    return (pixels * 255).round().astype("uint8") if pixels.dtype.kind == "f" else pixels
