"""The plugin system: hookspecs, discovery, per-tenant activation."""
