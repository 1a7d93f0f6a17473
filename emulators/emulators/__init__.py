"""Local emulators of HubSpot's CRM API and Gather's Records API.

Two aiohttp apps (`emulators.hubspot`, `emulators.gather`) share a small server layer
(`emulators.common`): serving on a free loopback port, deterministic fault injection and
request statistics.
"""
