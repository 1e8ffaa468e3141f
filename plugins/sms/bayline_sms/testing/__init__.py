"""Test helpers of the SMS plugin (a local Telnyx stand-in); imported by tests only."""
