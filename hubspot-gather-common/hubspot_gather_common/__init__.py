"""What tap-hubspot-gather and target-gather must do exactly alike, kept once.

Small on purpose: the ID normalization both apply, the capabilities both declare to Meltano,
the reading of `Retry-After`, and the record type for declaring private singer-sdk uses.
"""
