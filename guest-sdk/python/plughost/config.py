"""Per-module configuration values, readable within the module's `config` grant."""

from typing import Optional

from wit_world.imports import config as _config


def get(key: str) -> Optional[str]:
    """The value of key, or None when granted but unset; raises Err(Error_Denied) outside the grant."""
    return _config.get(key)
