"""Hydra's ``instantiate`` that lets a target's own error through, for every layer that builds from config."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate


def instantiate(config: Any, **kwargs: Any) -> Any:
    """Hydra's ``instantiate``, but a target's own error comes out as itself, not wrapped in
    Hydra's ``InstantiationException``, so the user reads the message that names the fix."""
    try:
        return hydra_instantiate(config, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        while isinstance(cause, InstantiationException):
            cause = cause.__cause__
        if cause is None:
            raise
        raise cause from None
