"""Benchmarks of the HubSpot -> Gather pipeline (`python -m bench`)."""
