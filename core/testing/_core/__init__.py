"""Test helpers of the core's own suite (not for plugins: their API may change at any time).

``tasks``/``worker``: a Celery worker for the tenant-context tests; ``packaging``: throwaway plugin
distributions rendered from the scaffold; ``services``: the test services ``make test`` finds.
"""
