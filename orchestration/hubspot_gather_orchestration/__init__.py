"""Dagster definitions running the HubSpot -> Gather Meltano pipeline once per tenant."""
