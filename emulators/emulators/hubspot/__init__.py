"""HubSpot CRM API emulator (built in its own issue)."""
