"""Pieces both emulators share: serving, fault injection, request statistics, typed run-time
settings."""
