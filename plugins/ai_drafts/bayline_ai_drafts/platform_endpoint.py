"""The platform operator's endpoint, used by shops that set none of their own:
``BAYLINE_PLUGIN_AI_DRAFTS_BASE_URL`` and ``BAYLINE_PLUGIN_AI_DRAFTS_API_KEY``."""
from __future__ import annotations

from bayline.plugin_api import plugin_config


def endpoint() -> tuple[str, str]:
    """(base_url, api_key) of the platform's endpoint; empty strings when none is configured."""
    config = plugin_config("ai_drafts")
    return config.get_str("base_url"), config.get_str("api_key")
