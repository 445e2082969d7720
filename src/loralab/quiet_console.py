"""Silence third-party console lines that tell a loralab user nothing, each at its source.

Each filter names the module that emits the line and the line itself, so every other warning and
log record of the same library still shows. Installed by the entry points (``train.py``,
``eval.py``, ``predict.py``, ``export.py``, the ``loralab-*`` commands) and by the ``loralab.api``
functions that train or load a model; ``import loralab`` leaves the warning filters alone.
"""

from __future__ import annotations

import logging
import warnings

# (module that warns, start of the message, category): deprecations inside the libraries' own code.
LIBRARY_DEPRECATIONS = [
    # Lightning's pytree helper builds torch's deprecated LeafSpec on every fit.
    (r"lightning\.pytorch\.utilities\._pytree", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # transformers' own property, read by PEFT and Lightning, not by loralab.
    (r"transformers\.modeling_utils", r"`is_gradient_checkpointing` is deprecated", FutureWarning),
]

# Lightning prints an advertisement for its cloud logger whenever a Trainer is built.
LIGHTNING_INFO_LOGGER = "lightning.pytorch.utilities.rank_zero"
LIGHTNING_TIP = "💡 Tip:"

# transformers reports every new or unused weight of a checkpoint; for a classifier built on an
# encoder that is always the new head (and the pretraining heads), which is the point of fine-tuning.
TRANSFORMERS_LOAD_LOGGER = "transformers.modeling_utils"
LOAD_REPORT = "LOAD REPORT"
# A report with these statuses explains an error raised right after it: it stays.
LOAD_REPORT_PROBLEMS = ("MISMATCH", "CONVERSION")


class DropRecords(logging.Filter):
    """Drops the records of one logger whose message contains ``marker`` (and none of ``unless``)."""

    def __init__(self, marker: str, unless: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.marker, self.unless = marker, unless

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return self.marker not in message or any(word in message for word in self.unless)


def filter_third_party_noise() -> None:
    """Install the filters above (idempotent)."""
    for module, message, category in LIBRARY_DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    _add_filter_once(LIGHTNING_INFO_LOGGER, DropRecords(LIGHTNING_TIP))
    _add_filter_once(TRANSFORMERS_LOAD_LOGGER, DropRecords(LOAD_REPORT, unless=LOAD_REPORT_PROBLEMS))


def _add_filter_once(logger_name: str, new: DropRecords) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, DropRecords) and f.marker == new.marker for f in logger.filters):
        logger.addFilter(new)
