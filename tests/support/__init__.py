"""Helpers that start the real parts the tests talk to (Dovecot, ...)."""
