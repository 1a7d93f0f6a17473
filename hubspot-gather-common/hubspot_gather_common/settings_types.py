"""Setting types that Meltano can pass on from the environment."""

from __future__ import annotations

from singer_sdk import typing as th

# Meltano 4.4 turns a `kind: decimal` value read from the environment (TARGET_GATHER_..., how
# orchestrators and CI set settings) into a Decimal it cannot serialize; such settings are
# declared `kind: string`, so the plugin accepts a number or a number's text (read with float()).
NUMERIC_TEXT = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
# `pattern` applies to strings only (JSON Schema), so numbers pass as numbers.
NUMBER_OR_TEXT = th.CustomType({"type": ["number", "string"], "pattern": NUMERIC_TEXT})
