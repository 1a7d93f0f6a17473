"""Gather Records API emulator (built in its own issue)."""
