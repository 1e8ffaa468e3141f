"""pluggy markers. Plugins use ``from bayline import hookimpl``."""
import pluggy

PROJECT = "bayline"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
