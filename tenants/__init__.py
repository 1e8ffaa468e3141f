"""Tenancy: groups → shops (locations) → staff, the plan catalogue and entitlements."""
