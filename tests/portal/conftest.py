"""Helpers for portal tests."""
from __future__ import annotations

from bayline.testing.forms import csrf_token

csrf_from = csrf_token

