"""Test helpers of the email plugin: a real Dovecot IMAP server on loopback and an SMTP receiver."""
