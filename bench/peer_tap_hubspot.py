"""Run MeltanoLabs' tap-hubspot (the peer) against a local HubSpot emulator. Benchmarks only.

The peer hard-codes `https://api.hubapi.com` in about twenty `url_base` properties and has no
base-URL setting, so this launcher rewrites that origin at the transport level (every request
goes through `requests.Session.send`) to the emulator URL in `PEER_HUBSPOT_URL`. It runs inside
the peer's own venv (`bench` builds it) and is never part of the product.
"""

from __future__ import annotations

import os
from typing import Any

import requests

HUBSPOT_ORIGIN = "https://api.hubapi.com"
EMULATOR_URL = os.environ["PEER_HUBSPOT_URL"].rstrip("/")
_original_send = requests.Session.send


def _send_to_emulator(
    self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
) -> requests.Response:
    if request.url and request.url.startswith(HUBSPOT_ORIGIN):
        request.url = EMULATOR_URL + request.url[len(HUBSPOT_ORIGIN) :]
    return _original_send(self, request, **kwargs)


requests.Session.send = _send_to_emulator  # type: ignore[method-assign]

if __name__ == "__main__":
    from tap_hubspot.tap import TapHubspot

    TapHubspot.cli()
