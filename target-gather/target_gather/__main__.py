"""Allow `python -m target_gather`."""

from __future__ import annotations

from target_gather.target import TargetGather

TargetGather.cli()
