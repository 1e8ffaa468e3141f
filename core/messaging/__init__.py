"""Messaging core: one outbox, one consent ledger, one scheduler and quiet hours for every channel.

Channels (SMS now, email next) are delivery plugins behind the ``deliver`` hook; everything else
(idempotency, purposes and consent, opt-out words, suppression, quiet hours, rate limits, templates,
the due-time scheduler, delivery state on the claim thread) lives here once. See docs/messaging.md.
"""
