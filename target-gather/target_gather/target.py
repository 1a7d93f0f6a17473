"""The target: settings, start-up validation of the mappings, checkpoint cadence and STATE.

The SDK emits STATE only from `drain_all()` (end of input, or a 5-minute record age). This
target keeps STATE itself: it drains every `checkpoint_every_records` records or
`checkpoint_every_seconds` seconds, and emits the latest STATE only after `drain_all()`
returned, i.e. after Gather acknowledged (or the rejects file durably holds) every record
received before it. RECORD, STATE and ACTIVATE_VERSION messages reach this target's own
handlers through its reader (`TolerantReader.handlers`); SIGINT/SIGTERM reach `_on_signal`.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn

from singer_sdk import typing as th
from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.encoding import SingerMessageType
from singer_sdk.target_base import Target

from hubspot_gather_common.capabilities import SHARED_CAPABILITIES
from target_gather.client import GatherClient, GatherError, encode
from target_gather.compat import override
from target_gather.durable import COMPACT_SEGMENTS, DurableError, DurableLedger, open_store
from target_gather.factory import Connection, Settings, build, checkpoint_records, make_client
from target_gather.ledger import Ledger
from target_gather.mapping import MappingError
from target_gather.reader import TolerantReader
from target_gather.sinks import GatherSink

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from singer_sdk.sinks import Sink

DEFAULT_API_URL = "https://api.gatherdata.co"
DEFAULT_LEDGER_PATH = "output/target-gather/ledger.sqlite3"
DEFAULT_REJECTS_PATH = "output/target-gather/rejects.jsonl"
DEFAULT_LEFT_BEHIND_PATH = "output/target-gather/left-behind.jsonl"
SYNC_MODES = ("keep", "mirror")
LOCAL_STATE_BACKEND = "systemdb"  # what $MELTANO_STATE_BACKEND_URI is when Meltano keeps it
DEFAULT_SYNC_MODE = "keep"
# Mirror mode deletes at most this share of a source's records per run (guard.py).
DEFAULT_DELETE_CAP_PERCENT = 10
DEFAULT_CHECKPOINT_RECORDS = 5000
DEFAULT_CHECKPOINT_SECONDS = 60.0
# Shells and supervisors report death by signal N as exit status 128 + N.
SIGNAL_EXIT_BASE = 128

MAPPINGS_DESCRIPTION = (
    "Stream -> Gather mappings, an object keyed by stream name (`*` for every other stream). "
    "Each entry: `kind` (`account`, `user`, `custom` with `model_id`, or `event`), `id_field` "
    "(default: the stream's single key property), `traits` (Gather trait -> stream field; "
    "`null` drops a built-in trait), `all_fields` (send every other field under its own name), "
    "`required` (traits a record must have; default: the model's), `id_is_email`; events take "
    "`event_type` or `event_type_field`, and `user_field` or `account_field`. Built in: "
    "`companies` -> account, `contacts` -> user (entries for them add to the defaults; "
    "`false` ignores a stream). Checked when the target starts and against each SCHEMA."
)


class TargetGather(Target):
    """Create-or-update Gather accounts, users, custom-model records and events."""

    name = "target-gather"
    default_sink_class = GatherSink
    message_reader_class = TolerantReader
    # No VALIDATE_RECORDS: per-record JSON Schema validation costs ~60% of the CPU; the
    # mapping checks exactly what Gather needs instead.
    capabilities = list(SHARED_CAPABILITIES)  # noqa: RUF012 - a plain class attribute in the SDK

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of Gather's Records API. Plain http:// is refused for "
            "non-loopback hosts unless allow_insecure_http is set.",
        ),
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            description="Gather API key (sent as `Authorization: Token <key>`). Required "
            "unless dry_run.",
        ),
        th.Property(
            "payload_format",
            th.StringType,
            default="flat",
            allowed_values=["flat", "traits"],
            description="`flat` sends traits beside `id` (Gather's docs); `traits` nests them "
            "under `traits` (Gather's newest client).",
        ),
        th.Property(
            "mappings",
            th.ObjectType(additional_properties=True),
            description=MAPPINGS_DESCRIPTION,
        ),
        th.Property(
            "null_policy",
            th.StringType,
            default="omit",
            allowed_values=["omit", "clear"],
            description="What a null field does: `omit` leaves Gather's value as it is; "
            "`clear` sends null, clearing the trait. Absent fields are never sent.",
        ),
        th.Property(
            "sync_mode",
            th.StringType,
            default=DEFAULT_SYNC_MODE,
            allowed_values=list(SYNC_MODES),
            description="`keep`: never delete in Gather; Gather records this integration "
            "wrote that HubSpot no longer backs (old keys after a key change, merged-away, "
            "archived or vanished records) are reported in the summary and left_behind_path. "
            "`mirror`: delete them, except a Gather record whose id a live record still holds.",
        ),
        th.Property(
            "delete_records",
            th.BooleanType,
            default=False,
            description="The older spelling of `sync_mode: mirror` (true implies mirror).",
        ),
        th.Property(
            "delete_cap_percent",
            th.IntegerType,
            default=DEFAULT_DELETE_CAP_PERCENT,
            description="Mirror mode: the most one run may delete of one source's (stream and "
            "portal's) records in Gather, in percent. Above it the run deletes nothing more, "
            "lists what it would have deleted (left_behind_path, action `withheld`) and fails.",
        ),
        th.Property(
            "confirm_deletes",
            th.StringType,
            description="Mirror mode: the code a run stopped by delete_cap_percent printed; "
            "the next run deletes exactly those records once (another set needs a new code).",
        ),
        th.Property(
            "left_behind_path",
            th.StringType,
            default=DEFAULT_LEFT_BEHIND_PATH,
            description="JSON-lines file listing the Gather records left behind in keep mode "
            "(and those mirror mode kept because a live record holds their id); appended.",
        ),
        th.Property(
            "ledger_uri",
            th.StringType,
            description="Durable home of the ledger and identity map, for runners without a "
            "disk: a `file://` directory or `s3://bucket/prefix` (boto3 needed) URI; "
            "meltano.yml points it at $MELTANO_STATE_BACKEND_URI. A journal segment is written "
            "there before each STATE. Unset or `systemdb`: the local ledger_path only.",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description="Map, validate and diff against the ledger, and report what would be "
            "created/updated/skipped/invalid, without sending anything or emitting STATE.",
        ),
        th.Property(
            "full_resync",
            th.BooleanType,
            default=False,
            description="Ignore the ledger and send every record (the ledger is refreshed).",
        ),
        th.Property(
            "ledger_path",
            th.StringType,
            default=DEFAULT_LEDGER_PATH,
            description="SQLite file remembering what Gather accepted (skip unchanged). "
            "Deleting it only costs re-sending.",
        ),
        th.Property(
            "rejects_path",
            th.StringType,
            default=DEFAULT_REJECTS_PATH,
            description="JSON-lines file receiving invalid and rejected records (appended).",
        ),
        th.Property(
            "rejects_include_payload",
            th.BooleanType,
            default=False,
            description="Also write each rejected record's payload (may contain PII).",
        ),
        th.Property(
            "summary_path",
            th.StringType,
            description="If set, the run summary is also written there as JSON.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=16,
            description="Requests in flight at once (keep-alive connections).",
        ),
        th.Property(
            "max_requests_per_second",
            th.NumberType,
            description="Optional cap on the request rate (requests are spaced evenly).",
        ),
        th.Property(
            "request_timeout_s",
            th.NumberType,
            default=30.0,
            description="Timeout of one request, in seconds; a timeout is retried.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=5,
            description="Retries of a request after 429, 5xx, timeouts or dropped connections; "
            "when they run out the run fails without STATE moving past the record.",
        ),
        th.Property(
            "backoff_base_s",
            th.NumberType,
            default=0.5,
            description="First retry waits up to this many seconds, doubling each retry "
            "(jittered); Retry-After overrides it.",
        ),
        th.Property(
            "backoff_max_s",
            th.NumberType,
            default=30.0,
            description="Longest wait before a retry, also capping Retry-After.",
        ),
        th.Property(
            "checkpoint_every_records",
            th.IntegerType,
            default=DEFAULT_CHECKPOINT_RECORDS,
            description="Send buffered records and emit STATE at least every N records.",
        ),
        th.Property(
            "checkpoint_every_seconds",
            th.NumberType,
            default=DEFAULT_CHECKPOINT_SECONDS,
            description="... and at least every T seconds (checked as messages arrive).",
        ),
        th.Property(
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            description="Allow plain http:// api_url for non-loopback hosts (not recommended).",
        ),
    ).to_dict()

    # singer-sdk built-ins this target does not implement: not offered (`--about`, Meltano).
    UNSUPPORTED_BUILTINS = ("add_record_metadata", "load_method")

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """The SDK's built-in settings, minus the ones this target would silently ignore."""
        super().append_builtin_config(config_jsonschema)
        for name in cls.UNSUPPORTED_BUILTINS:
            config_jsonschema["properties"].pop(name, None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_parallelism = 1  # sinks drain in turn; each drain is concurrent inside
        settings = Settings(self.config, self.config_jsonschema)
        self._settings = settings
        self._api_key = settings.text("api_key")  # `_redact` needs it from the start
        self._client: GatherClient | None = None
        self._checkpoint_records = checkpoint_records(settings)
        self._checkpoint_seconds = settings.number("checkpoint_every_seconds")
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()
        self._state_to_emit: dict[str, Any] | None = None  # the latest STATE received
        self._last_state_emitted: str | None = None
        self._summary_path = settings.get("summary_path")
        self._finished = False
        self._failed = False
        self._draining = False
        self._direct_sinks: dict[str, GatherSink] = {}
        reader = self.message_reader
        if not isinstance(reader, TolerantReader):
            msg = "target-gather reads its input with TolerantReader (message_reader)"
            raise TypeError(msg)
        reader.on_malformed = self._on_malformed
        reader.handlers = {
            SingerMessageType.RECORD: self._on_record,
            SingerMessageType.STATE: self._on_state,
            SingerMessageType.ACTIVATE_VERSION: self._on_activate_version,
        }
        if threading.current_thread() is threading.main_thread():  # as the SDK's own handler
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        self._conn, self.services = build(settings, client=self._client_getter, redact=self._redact)
        self._durable = self._open_durable(
            self.services.ledger,
            self._conn.workspace,
            self._conn.ledger_path,
            dry_run=self.services.dry_run,
        )

    def _open_durable(
        self, ledger: Ledger, workspace: str, ledger_path: Path, *, dry_run: bool
    ) -> DurableLedger | None:
        """`ledger_uri`: rebuild the local ledger from its durable copy, then journal writes."""
        uri = self._settings.text("ledger_uri").strip()
        # Meltano's default state backend, its own system database, is local like ledger_path.
        if not uri or uri == LOCAL_STATE_BACKEND or dry_run:
            return None
        try:
            durable = DurableLedger(
                open_store(uri, workspace), workspace, ledger_path.parent / "durable-scratch"
            )
            replayed = ledger.with_connection(durable.restore)
        except DurableError as exc:
            msg = f"invalid config: {exc}"
            raise GatherError(msg) from None
        except (OSError, ValueError) as exc:
            msg = (
                f"could not read the durable ledger at ledger_uri ({type(exc).__name__}: {exc}). "
                "Fix: check that the location exists and is readable by this runner."
            )
            raise GatherError(msg) from None
        self.logger.info("ledger restored from ledger_uri (%s journal segments)", replayed)
        ledger.journal = []
        return durable

    def _persist(self) -> None:
        """Write the ledger changes since the last call to the durable copy (before STATE)."""
        if self._durable is not None:
            self._durable.append(self.services.ledger.take_journal())

    def _on_malformed(self, line_number: int, reason: str) -> None:
        """A line that is not a Singer message: a reject, and the run fails at the end."""
        self.services.rejects.write(
            portal="",
            stream="",
            model="",
            record_id=None,
            outcome="invalid",
            reason=f"input line {line_number} is {reason}",
            http_status=None,
        )
        self.services.protocol_errors["(malformed lines)"] += 1

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "<redacted>") if self._api_key else text

    def _client_getter(self, conn: Connection) -> Callable[[], GatherClient]:
        def get() -> GatherClient:
            if self._client is None:  # created on first use: a dry run never connects
                self._client = make_client(self._settings, conn)
            return self._client

        return get

    # -- message handling ------------------------------------------------------------------

    def _on_record(self, message_dict: dict[str, Any]) -> None:
        """A lean RECORD path: no SDK validation or timestamp parsing, then the cadence."""
        stream_name = message_dict.get("stream")
        record = message_dict.get("record")
        direct = self._direct_sinks.get(stream_name)  # type: ignore[arg-type]
        if direct is not None and isinstance(record, dict):
            direct.tally_record_read()
            direct.accept(record, message_dict.get("version"))
        elif not isinstance(stream_name, str) or not isinstance(record, dict):
            line = getattr(self.message_reader, "line_number", 0)
            self._on_malformed(line, "a RECORD without a 'stream' name or a 'record' object")
            return
        else:
            self._accept_mapped(stream_name, record, message_dict.get("version"))
        self._since_checkpoint += 1
        if (
            self._since_checkpoint >= self._checkpoint_records
            or time.monotonic() - self._last_checkpoint >= self._checkpoint_seconds
        ):
            self.checkpoint()

    def _accept_mapped(self, stream_name: str, record: dict[str, Any], version: Any) -> None:
        """Through the SDK's stream maps (aliases, filters, transforms, flattening)."""
        stream_maps = self.mapper.stream_maps.get(stream_name)
        if stream_maps is None:
            raise RecordsWithoutSchemaException(_record_before_schema(stream_name))
        for stream_map in stream_maps:
            transformed = stream_map.transform(record)
            if transformed is None:
                continue
            sink = self._active_sink(stream_map.stream_alias)
            if sink is None:
                raise RecordsWithoutSchemaException(_record_before_schema(stream_map.stream_alias))
            sink.tally_record_read()
            sink.accept(transformed, version)

    def _active_sink(self, stream_name: str) -> GatherSink | None:
        """The stream's current sink, if its SCHEMA arrived."""
        if not self.sink_exists(stream_name):
            return None
        sink = self.get_sink(stream_name)
        return sink if isinstance(sink, GatherSink) else None

    def _refresh_direct_sinks(self) -> None:
        """Streams whose only map is the identity (no stream maps, no flattening) skip it."""
        self._direct_sinks = {}
        if self._settings.flag("flattening_enabled"):
            return
        for stream_name, stream_maps in self.mapper.stream_maps.items():
            if len(stream_maps) != 1 or type(stream_maps[0]) is not SameRecordTransform:
                continue
            sink = self._active_sink(stream_maps[0].stream_alias)
            if sink is not None and stream_maps[0].stream_alias == stream_name:
                self._direct_sinks[stream_name] = sink

    def _on_state(self, message_dict: dict[str, Any]) -> None:
        """Keep the latest STATE for the next checkpoint; the time-based checkpoint ticks here."""
        self.message_reader.assert_line_requires(message_dict, requires={"value"})
        self._state_to_emit = message_dict["value"]
        if time.monotonic() - self._last_checkpoint >= self._checkpoint_seconds:
            self.checkpoint()

    @override
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """With a SCHEMA: its sink; a mapping that does not fit the schema stops the run here."""
        if schema is None:
            return super().get_sink(stream_name, record=record)
        try:
            sink = super().get_sink(
                stream_name, record=record, schema=schema, key_properties=key_properties
            )
        except MappingError as exc:
            self._fail(exc)
        self._refresh_direct_sinks()
        return sink

    def _on_activate_version(self, message_dict: dict[str, Any]) -> None:
        """A complete pass ended: deliver what came before it, then each sink settles what
        the pass lacked (`GatherSink.activate_version`).

        The whole pass was received and acknowledged before anything is deleted, and no
        STATE after this message is emitted before the deletes are acknowledged. (The SDK's
        own dispatcher drains nothing first, warns about `_sdc_*` columns this target never
        adds, and fails on an ACTIVATE_VERSION for a stream without SCHEMA.)
        """
        stream_name = message_dict.get("stream")
        version = message_dict.get("version")
        if not isinstance(stream_name, str) or not isinstance(version, int):
            return
        self.checkpoint()

        def settle() -> None:
            for stream_map in self.mapper.stream_maps.get(stream_name, []):
                sink = self._active_sink(stream_map.stream_alias)
                if sink is not None:
                    sink.activate_version(version)

        self._delivering(settle)

    def checkpoint(self) -> None:
        """Deliver everything received so far, then emit the latest STATE (if any)."""
        self._delivering(self._drain_then_state)
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()

    def _drain_then_state(self, *, is_endofpipe: bool = False) -> None:
        """Every sink delivers what it holds; only then the latest STATE is emitted."""
        self.drain_all(is_endofpipe=is_endofpipe)
        if self._state_to_emit:
            self._emit_state(self._state_to_emit)

    def _delivering(self, work: Callable[[], None]) -> None:
        """Run `work`, which sends to Gather or emits STATE: a signal meanwhile stops at once
        without (further) STATE, and a delivery failure stops the run with its summary."""
        self._draining = True
        try:
            work()
        except GatherError as exc:
            self._fail(exc)
        finally:
            self._draining = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: never re-enter a drain, never exit 0 on an unfinished input.

        singer-sdk re-enters a drain on a signal mid-drain:
        https://github.com/meltano/sdk/issues/3775

        Mid-delivery, stop at once: the batch in flight is unacknowledged, so no STATE may
        cover it (the next run re-sends it). Otherwise deliver what was received, emit its
        STATE, then stop.
        """
        if self._draining:
            self.logger.warning(
                "Received signal %d while delivering a batch: stopping without STATE for it; "
                "the next run sends it again.",
                signum,
            )
            raise SystemExit(SIGNAL_EXIT_BASE + signum)
        self.logger.info("Received signal %d: delivering what was received, then stopping.", signum)
        try:
            self.checkpoint()
        finally:
            self._finish()
        raise SystemExit(SIGNAL_EXIT_BASE + signum)

    def _fail(self, exc: Exception) -> NoReturn:
        """Write the rejects file and summary, then re-raise (the CLI prints one line)."""
        self._failed = True
        self.logger.error("target-gather stopped: %s", self._redact(str(exc)))
        self._finish()
        raise exc

    def _emit_state(self, state: dict[str, Any]) -> None:
        """Emit STATE unless dry run, empty, or the same as the last one emitted."""
        if self.services.dry_run or not state:
            return
        line = encode(state).decode()
        if line == self._last_state_emitted:
            return
        self._persist()  # the durable ledger first: STATE never claims more than it knows
        self._last_state_emitted = line
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    @override
    def process_endofpipe(self) -> None:
        """Final drain and STATE, then the run summary; resources are closed either way."""
        self._delivering(functools.partial(self._drain_then_state, is_endofpipe=True))
        self._finish()
        broken = self.services.protocol_errors
        if broken:
            detail = ", ".join(f"{n} in {stream!r}" for stream, n in sorted(broken.items()))
            msg = (
                f"input that breaks the Singer spec ({detail}) was written to the rejects file; "
                "everything else was delivered and its STATE emitted. Fix the tap: every line "
                "must be a JSON message, every RECORD must carry its stream's key_properties."
            )
            raise MissingKeyPropertiesError(msg)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """The CLI: known failures end with one line naming the fix, not a traceback."""
        try:
            super().invoke(
                about=about, about_format=about_format, config=config, file_input=file_input
            )
        except (
            GatherError,
            MappingError,
            MissingKeyPropertiesError,
            RecordsWithoutSchemaException,
        ) as exc:
            raise SystemExit(f"target-gather: {exc}") from None

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        services = self.services
        durable = self._durable
        if durable is not None:
            self._persist()  # rows written after the last STATE are true too: keep them
            if not self._failed and durable.segment_count() >= COMPACT_SEGMENTS:
                schema = services.ledger.schema
                services.ledger.with_connection(lambda db: durable.compact(db, schema))
        services.rejects.close()
        services.left_behind.close()
        services.ledger.close()
        if self._client is not None:
            self._client.close()
            self._client = None
        services.summary.log(self.logger)
        if self._summary_path:
            services.summary.write(Path(self._summary_path))


def _record_before_schema(stream_name: str) -> str:
    return (
        f"A record for stream '{stream_name}' was encountered before a corresponding schema. "
        "Check that the Tap correctly implements the Singer spec."
    )


if __name__ == "__main__":
    TargetGather.cli()
