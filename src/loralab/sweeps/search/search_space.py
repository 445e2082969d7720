"""The search space of ``hydra.sweeper.params`` (and sweep overrides on the command line), written in
Hydra's override grammar, as Optuna distributions:

- ``choice(1, 2, 4)`` (or ``1, 2, 4``) -> ``CategoricalDistribution``
- ``range(1, 9, step=2)`` -> ``IntDistribution`` from 1 to 9, both included, as hydra-optuna-sweeper
  reads it (a float bound or step: ``FloatDistribution``); ``shuffle(range(...))`` ->
  ``CategoricalDistribution`` of the values Hydra's ``range`` gives (stop excluded)
- ``interval(0.001, 0.1)`` -> ``FloatDistribution`` (Hydra reads its bounds as floats);
  ``tag(log, interval(...))`` samples on a log scale

A plain ``key=value`` is a fixed override every trial gets; ``~key`` deletions pass through as they are.
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override, Transformer
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override (``choice``, ``range`` or ``interval``)."""
    value = override.value()
    if isinstance(value, Glob):
        raise ValueError(
            f"{override.input_line}: the Optuna sweeper takes choice(a, b) (or a, b), range(...) or "
            "interval(...), not glob(...): list the values with choice"
        )
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if override.is_range_sweep():
        if any(isinstance(x, float) for x in (value.start, value.stop, value.step)):
            step = float(value.step) if value.step else None
            return FloatDistribution(float(value.start), float(value.stop), step=step)
        return IntDistribution(int(value.start), int(value.stop), step=int(value.step))
    # the one sweep left: an interval, whose bounds Hydra reads as floats
    return FloatDistribution(float(value.start), float(value.end), log="log" in value.tags)


def search_space(arguments: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """The searched keys' distributions, and the overrides every trial gets as they are. A key given
    twice (in ``params`` and on the command line) takes its later value."""
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    deletions: list[str] = []
    for override in OverridesParser.create().parse_overrides(arguments):
        if override.is_delete():
            deletions.append(override.input_line or "")
            continue
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return space, [f"{key}={value}" for key, value in fixed.items()] + deletions


def trial_overrides(params: dict[str, Any], fixed: list[str]) -> list[str]:
    """A trial's overrides: its sampled ``params``, then the fixed ones."""
    return [f"{key}={value}" for key, value in params.items()] + fixed
