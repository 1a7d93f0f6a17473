"""The plugin capabilities both plugins declare, so Meltano treats them alike.

`structured-logging` lets Meltano render the plugins' log levels and METRIC lines as it renders
any singer-sdk plugin's; stream maps and flattening are singer-sdk's inline transforms, honoured
by both. Each plugin adds its own (a tap's catalog and state, for instance).
"""

from __future__ import annotations

from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities

SHARED_CAPABILITIES: tuple[CapabilitiesEnum, ...] = (
    PluginCapabilities.ABOUT,
    PluginCapabilities.STREAM_MAPS,
    PluginCapabilities.FLATTENING,
    PluginCapabilities.STRUCTURED_LOGGING,
)
