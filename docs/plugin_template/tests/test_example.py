"""Tests a plugin author keeps beside the plugin (they use Bayline's pytest fixtures)."""
from __future__ import annotations

import pytest

pytest.importorskip("bayline_example", reason="the template plugin is not installed")


def test_conforms(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "example") == []
