"""Plugin discovery (entry points), broken-plugin handling and per-tenant hook subsets."""
from __future__ import annotations

import importlib.metadata as md
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .markers import PROJECT

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "bayline.plugins"
CORE_PREFIX = "bayline."


@dataclass
class PluginInfo:
    """What the registry knows of one plugin."""

    name: str
    module: ModuleType | None
    version: str = ""
    distribution: str = ""
    state: str = "installed"  # installed | broken
    error: str = ""
    core: bool = False
    hooks: list[str] = field(default_factory=list)

    @property
    def package_dir(self) -> Path | None:
        file = getattr(self.module, "__file__", None)
        return Path(file).parent if file else None

    @property
    def migrations_dir(self) -> Path | None:
        d = self.package_dir
        if d is not None and (d / "migrations" / "versions").is_dir():
            return d / "migrations" / "versions"
        return None


class HookSubset:
    """Attribute access to hook callers restricted to the active plugins."""

    def __init__(self, pm: pluggy.PluginManager, remove: list[object]) -> None:
        self._pm = pm
        self._remove = remove
        self._callers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        caller = self._callers.get(name)
        if caller is None:
            full = getattr(self._pm.hook, name)
            caller = self._pm.subset_hook_caller(name, self._remove) if self._remove else full
            self._callers[name] = caller
        return caller


class PluginRegistry:
    """Installed plugins of one app, with the hook subsets per active feature set."""

    def __init__(self, allow: list[str] | None = None, deny: list[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.allow = allow
        self.deny = set(deny or [])
        self.plugins: dict[str, PluginInfo] = {}
        self._subsets: dict[frozenset[str], HookSubset] = {}

    # -- discovery -----------------------------------------------------
    def load_entry_points(self) -> None:
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            if self.allow is not None and ep.name not in self.allow:
                continue
            if ep.name in self.deny or ep.name in self.plugins:
                continue
            dist = ep.dist
            try:
                module = ep.load()
            except Exception:  # a broken plugin must never take the app down
                self._mark_broken(ep.name, None, traceback.format_exc(), dist)
                continue
            self.register(module, ep.name, dist=dist)

    def register(self, module: ModuleType | object, name: str, *, core: bool = False, dist: Any = None) -> None:
        """Register ``module`` as plugin ``name`` (entry points and tests use this)."""
        try:
            self.pm.register(module, name=name)
            self._check(module, name)
        except Exception:
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            self._mark_broken(name, module, traceback.format_exc(), dist)
            return
        info = PluginInfo(name=name, module=module if isinstance(module, ModuleType) else None, core=core)
        info.version = getattr(dist, "version", "") if dist else getattr(module, "__version__", "")
        info.distribution = dist.metadata["Name"] if dist else ""
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.plugins[name] = info
        self._subsets.clear()

    def _check(self, module: object, name: str) -> None:
        for caller in self.pm.get_hookcallers(module) or []:
            if not caller.has_spec():
                raise pluggy.PluginValidationError(
                    module, f"plugin {name!r} implements unknown hook {caller.name!r} (misspelled?)"
                )

    def _mark_broken(self, name: str, module: Any, error: str, dist: Any) -> None:
        log.error("plugin %s failed to load and is disabled:\n%s", name, error)
        self.plugins[name] = PluginInfo(
            name=name,
            module=module if isinstance(module, ModuleType) else None,
            state="broken",
            error=error,
            version=getattr(dist, "version", "") if dist else "",
            distribution=dist.metadata["Name"] if dist else "",
        )

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.plugins.pop(name, None)
        self._subsets.clear()

    # -- views -----------------------------------------------------------
    @property
    def working(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.state != "broken"]

    @property
    def feature_plugins(self) -> list[PluginInfo]:
        """Plugins gated by a feature key (every non-core plugin)."""
        return [p for p in self.working if not p.core]

    @property
    def hook(self) -> Any:
        """All installed plugins' hooks (registration and start-up only)."""
        return self.pm.hook

    def hooks_for(self, active_features: frozenset[str]) -> HookSubset:
        """Hook callers that reach only core plugins and plugins named in ``active_features``."""
        subset = self._subsets.get(active_features)
        if subset is None:
            remove = [
                self.pm.get_plugin(p.name) for p in self.feature_plugins if p.name not in active_features
            ]
            subset = HookSubset(self.pm, [r for r in remove if r is not None])
            self._subsets[active_features] = subset
        return subset

    def hook_of(self, hook: str, name: str) -> Any:
        """A caller of ``hook`` that reaches only plugin ``name`` (registration, conformance)."""
        return self.pm.subset_hook_caller(hook, [p for n, p in self.pm.list_name_plugin() if n != name])

    def call_collect(self, hook_result: list[Any]) -> list[Any]:
        """Flatten list-of-lists results of a collecting hook."""
        out: list[Any] = []
        for item in hook_result:
            if item:
                out.extend(item if isinstance(item, (list, tuple)) else [item])
        return out
