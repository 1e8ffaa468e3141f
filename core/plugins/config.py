"""Platform configuration of a plugin: ``plugin_config("sms").get("telnyx_api_key")``.

A key ``telnyx_api_key`` of plugin ``sms`` is read from the Flask config
``BAYLINE_PLUGIN_SMS_TELNYX_API_KEY`` (set by the app's creator, e.g. ``create_app({...})``),
else from the environment variable of the same name (as the app saw it when it was created).
This is the platform operator's configuration (API keys, URLs), not a shop's settings.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import current_app

PREFIX = "BAYLINE_PLUGIN_"
ENV_EXTENSION = "bayline.plugin_env"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def plugin_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``BAYLINE_PLUGIN_*`` variables of ``environ`` (kept by the app factory)."""
    return {k: v for k, v in environ.items() if k.startswith(PREFIX)}


class MissingConfig(LookupError):
    """A required plugin configuration key is not set."""


class PluginConfig(Mapping[str, Any]):
    """Read-only view of one plugin's platform configuration (keys lower-case, without prefix)."""

    def __init__(self, name: str, config: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.name = name
        self._prefix = f"{PREFIX}{name.upper()}_"
        values: dict[str, Any] = {}
        for source in (environ, config):  # the Flask config wins over the environment
            for key, value in source.items():
                if key.startswith(self._prefix):
                    values[key[len(self._prefix):].lower()] = value
        self._values = values

    def variable(self, key: str) -> str:
        """The variable / config name that sets ``key`` (for error messages and docs)."""
        return f"{self._prefix}{key.upper()}"

    def __getitem__(self, key: str) -> Any:
        return self._values[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def require(self, key: str) -> Any:
        """The value of ``key``; :class:`MissingConfig` naming the variable when it is not set."""
        value = self._values.get(key.lower())
        if value is None or value == "":
            raise MissingConfig(f"plugin {self.name!r}: set {self.variable(key)}")
        return value

    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self._values.get(key.lower())
        return default if value is None else str(value)

    def get_int(self, key: str, default: int) -> int:
        value = self._values.get(key.lower())
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.variable(key)} must be an integer, not {value!r}") from None

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self._values.get(key.lower())
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{self.variable(key)} must be true or false, not {value!r}")

    def get_list(self, key: str, default: list[str] | tuple[str, ...] = ()) -> list[str]:
        """A list: a list/tuple in the Flask config, or comma-separated text."""
        value = self._values.get(key.lower())
        if value is None:
            return list(default)
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]


def plugin_config(name: str) -> PluginConfig:
    """The platform configuration of plugin ``name`` in the current app."""
    return PluginConfig(name, current_app.config, current_app.extensions.get(ENV_EXTENSION, {}))
