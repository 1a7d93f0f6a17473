"""Singer tap for HubSpot companies and contacts, keyed by the IDs Gather syncs on."""
