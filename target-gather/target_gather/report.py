"""The rejects file (JSON lines) and the run summary (log lines and an optional JSON file).

Every line of each names the source it is about, its `portal` (the source's origin; '' for a
source without one) and `stream`, so a report shared by several sources stays readable.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

Redactor = Callable[[str], str]


def _utc_now() -> str:
    return datetime.datetime.now(tz=datetime.timezone.utc).isoformat(timespec="milliseconds")


class RejectsWriter:
    """Appends one JSON line per invalid or rejected record; `sync()` makes them durable.

    Lines: `time`, `portal`, `stream`, `model`, `id`, `outcome` (`invalid` or `rejected`),
    `reason`, `http_status` (null for invalid), and `payload` only with `include_payload` (PII).
    """

    def __init__(self, path: Path, *, include_payload: bool, redact: Redactor) -> None:
        self.path = path
        self.include_payload = include_payload
        self._redact = redact
        self._file: IO[bytes] | None = None
        self._dirty = False
        self._lock = threading.Lock()
        self._encoder = msgspec.json.Encoder(enc_hook=str, decimal_format="number")

    def write(
        self,
        *,
        stream: str,
        model: str,
        record_id: str | None,
        outcome: str,
        reason: str,
        http_status: int | None,
        payload: Any = None,
        portal: str = "",
    ) -> None:
        """Append one line (buffered until `sync`)."""
        line: dict[str, Any] = {
            "time": _utc_now(),
            "portal": portal,
            "stream": stream,
            "model": model,
            "id": record_id,
            "outcome": outcome,
            "reason": self._redact(reason),
            "http_status": http_status,
        }
        if self.include_payload:
            line["payload"] = payload
        self._append(line)

    def _append(self, line: dict[str, Any]) -> None:
        """Encode one line and append it, opening the file on first use (buffered until `sync`)."""
        data = self._encoder.encode(line) + b"\n"
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab")
            self._file.write(data)
            self._dirty = True

    def sync(self) -> None:
        """Flush and fsync: called before any STATE can move past these records."""
        with self._lock:
            if self._file is not None and self._dirty:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._dirty = False

    def close(self) -> None:
        """Sync and close."""
        self.sync()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class LeftBehindWriter(RejectsWriter):
    """Appends one JSON line per Gather record the source no longer backs (see README).

    Lines: `time`, `portal`, `stream`, `model`, `id` (the Gather id), `source_id`, `reason`
    (`reasons.LeftReason`), `mode` and `action` (`reasons.LeftAction`: `reported` in keep
    mode, `deleted` or `withheld` in mirror mode). Never a payload.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, include_payload=False, redact=lambda text: text)

    def write(self, **fields: Any) -> None:
        """Append one line (buffered until `sync`)."""
        line = {"time": _utc_now(), **fields}
        line["id"] = line.pop("gather_id", None)
        self._append(line)


@dataclass
class ModelCounts:
    """Per-model outcome counters."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    rejected: int = 0
    retried: int = 0
    duplicates: int = 0
    ignored_deletes: int = 0
    ignored: int = 0
    no_id: int = 0
    # About Gather records, not incoming records (not part of `records`):
    left_behind: int = 0
    kept_live: int = 0
    unlinked: int = 0  # users whose account_id was cleared because their account went away
    withheld: int = 0  # mirror deletes above delete_cap_percent, not sent (the run failed)


COUNTERS = tuple(ModelCounts.__dataclass_fields__)
NOT_RECORDS = frozenset({"retried", "left_behind", "kept_live", "unlinked", "withheld"})
SAMPLE_SIZE = 10


class RunSummary:
    """Counts outcomes per model; `log` and `to_json` at the end of the run."""

    def __init__(self, *, dry_run: bool, sync_mode: str = "keep") -> None:
        self.dry_run = dry_run
        self.sync_mode = sync_mode
        self.started = time.monotonic()
        self.models: dict[str, ModelCounts] = {}
        # The same counters per source: (portal, stream, model).
        self.sources: dict[tuple[str, str, str], ModelCounts] = {}
        self.tracking: dict[str, bool] = {}  # stream -> whether it tracks identity
        self.samples: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def identity(self, stream: str, *, tracked: bool) -> None:
        """Note whether `stream` tracks identity (named in the summary)."""
        with self._lock:
            self.tracking[stream] = tracked

    def sample(
        self,
        model: str,
        entries: Sequence[tuple[str, str, str]],
        *,
        action: str,
        stream: str = "",
        portal: str = "",
    ) -> None:
        """Keep up to SAMPLE_SIZE (Gather id, source id, reason) left-behind samples."""
        with self._lock:
            for gather_id, source_id, reason in entries[: SAMPLE_SIZE - len(self.samples)]:
                self.samples.append(
                    {
                        "portal": portal,
                        "stream": stream,
                        "model": model,
                        "id": gather_id,
                        "source_id": source_id,
                        "reason": str(reason),
                        "action": str(action),
                    }
                )

    def add(self, model: str, *, stream: str = "", portal: str = "", **counts: int) -> None:
        """Add to `model`'s counters, and to those of the source (portal and stream)."""
        with self._lock:
            entries = (
                self.models.setdefault(model, ModelCounts()),
                self.sources.setdefault((portal, stream, model), ModelCounts()),
            )
            for entry in entries:
                for name, value in counts.items():
                    setattr(entry, name, getattr(entry, name) + value)

    def to_json(self) -> dict[str, Any]:
        """The summary as written to `summary_path`."""
        elapsed = max(time.monotonic() - self.started, 1e-9)

        def counters(counts: ModelCounts) -> dict[str, Any]:
            data = asdict(counts)
            processed = sum(data[name] for name in COUNTERS if name not in NOT_RECORDS)
            data["records"] = processed
            data["records_per_second"] = round(processed / elapsed, 1)
            return data

        models = {model: counters(c) for model, c in sorted(self.models.items())}
        sources = [
            {
                "portal": portal,
                "stream": stream,
                "model": model,
                "identity_tracking": self.tracking.get(stream, False),
                **counters(counts),
            }
            for (portal, stream, model), counts in sorted(self.sources.items())
        ]
        return {
            "dry_run": self.dry_run,
            "sync_mode": self.sync_mode,
            "elapsed_seconds": round(elapsed, 3),
            "models": models,
            "sources": sources,
            "identity_tracking": dict(sorted(self.tracking.items())),
            "left_behind_sample": list(self.samples),
        }

    def log(self, logger: logging.Logger) -> None:
        """One line per model."""
        summary = self.to_json()
        prefix = "Dry run (nothing sent): " if self.dry_run else ""
        if not summary["sources"]:
            logger.info("%sno records processed", prefix)
        for data in summary["sources"]:
            logger.info(
                "%sportal %s stream %s -> gather model %s (identity %s): created=%d updated=%d "
                "unchanged=%d deleted=%d invalid=%d rejected=%d retried=%d duplicates=%d "
                "ignored_deletes=%d ignored=%d no_id=%d left_behind=%d kept_live=%d "
                "unlinked=%d withheld=%d records/s=%.1f",
                prefix,
                data["portal"] or "(none)",
                data["stream"] or "(none)",
                data["model"],
                "tracked" if data["identity_tracking"] else "not tracked",
                *(data[name] for name in COUNTERS),
                data["records_per_second"],
            )

    def write(self, path: Path) -> None:
        """Write the JSON summary (atomically: temp file then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
