"""The claim's message thread, channel-agnostic (portal now; SMS and email plugins add channels)."""
