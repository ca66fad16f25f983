"""Ingest: the one code path behind `directory ingest`, `POST /records` and the
GraphQL `ingest` mutation.

Each batch is upserted and resolved under the graph's resolution lock, so
concurrent ingests (from the server and the CLI at once) never race. Records
are keyed on (source, source_id): ingesting one again updates it. A malformed
line is reported with its line number and reason; the rest still goes in.
"""

from __future__ import annotations

import functools
import gc
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring as _quoted  # json.dumps's own, in C
from typing import Any

from directory.priority import SOURCE_PRIORITY, rank_in, stored_order
from directory.settings import Settings
from graph.backend import Reads
from graph.judgements import JUDGED
from graph.model import LINKING_STRENGTHS, BatchStart, MatchingRow, RecordRow, RecordState
from graph.store import GraphWriter, RecordForLoad, RecordLoad, record_for_load
from resolvers.batch import Loaded
from resolvers.explain import ModelCache
from resolvers.identifiers import strength
from resolvers.incremental import CANDIDATES, arriving_row, link_records, name_queries
from resolvers.leases import update_leases
from resolvers.model import Record, utc_now, utc_text_or_none
from resolvers.names import fold
from resolvers.online import (
    NAMES_SAMPLED,
    RESOLUTION_LOCK,
    ResolutionOutcome,
    count_generic,
    resolve,
    save_generic,
    update_generic,
)
from resolvers.records import ParsedLine
from resolvers.skills import record_evidence, refresh_expertise

log = logging.getLogger("directory.ingest")

# How long a bulk load may hold the resolution lock (others wait that long at most).
_LOAD_LEASE_S = 3600.0

# The match model, once `directory resolve` has trained one: new records are
# then linked as they arrive (the online executor).
MODELS = ModelCache()


@dataclass(frozen=True)
class Rejection:
    """A record that did not go in, where it was and why."""

    origin: str
    line: int
    reason: str


@dataclass
class IngestReport:
    """What an ingest read, changed and refused."""

    read: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    profiles_created: int = 0
    profiles_merged: int = 0
    profiles_split: int = 0
    generic_marked: int = 0
    probabilistic_links: int = 0
    review_candidates: int = 0
    # A bulk load that built a new graph: its records, for the batch resolver.
    loaded: Loaded | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = {name: value for name, value in vars(self).items() if name != "loaded"}
        data["rejected"] = [vars(r) for r in self.rejected]
        return data


def ingest_lines(
    writer: GraphWriter,
    lines: Iterable[ParsedLine],
    *,
    settings: Settings,
    origin: str,
    report: IngestReport | None = None,
    on_batch: Callable[[int], None] | None = None,
    resolve_now: bool = True,
    keep: Callable[[object], None] | None = None,
) -> IngestReport:
    """Ingest parsed lines in batches; `on_batch(n)` is told how many were read.

    `resolve_now=False` (a bulk load) only writes the records, with their
    identifiers' generic status, IP leases and skill evidence: profiles are left
    to one batch resolution afterwards (`resolvers.batch.resolve_all`), which
    decides the same, sooner than resolving each batch as it comes. `keep`
    takes a bulk load's working objects instead of their being freed here (a
    command that exits next leaves them to the system: `resolve_all`'s)."""
    report = report or IngestReport()
    loaded = not resolve_now and _load_new_graph(
        writer, lines, settings=settings, origin=origin, report=report, on_batch=on_batch,
        keep=keep,
    )  # fmt: skip
    if not loaded:
        prepare = writer.backend.prepared
        for batch in _read_ahead(_batches(lines, settings.batch_size, origin, prepare)):
            report.read += batch.read
            report.rejected.extend(batch.rejected)
            if batch.records and resolve_now:
                ingest_batch(writer, batch, settings=settings, report=report)
            elif batch.records:
                write_batch(writer, batch, settings=settings, report=report)
            if not gc.isenabled():
                # Turned off by the caller (the CLI: each batch's objects made it
                # walk the ones kept): the batch's own cycles, if any, go here. A
                # bulk load keeps its batches to the end: it skips this (5 s a million).
                gc.collect(1)
            if on_batch is not None:
                on_batch(batch.read)
    for rejection in report.rejected:
        log.warning("rejected %s line %d: %s", rejection.origin, rejection.line, rejection.reason)
    log.info(
        "ingested %s: read %d, created %d, updated %d, rejected %d; profiles created %d, "
        "merged %d, split %d", origin, report.read, report.created, report.updated,
        len(report.rejected), report.profiles_created, report.profiles_merged,
        report.profiles_split,
    )  # fmt: skip
    return report


def _load_new_graph(
    writer: GraphWriter,
    lines: Iterable[ParsedLine],
    *,
    settings: Settings,
    origin: str,
    report: IngestReport,
    on_batch: Callable[[int], None] | None,
    keep: Callable[[object], None] | None,
) -> bool:
    """A bulk load into a graph that holds nothing yet, built at once
    (`GraphWriter.loading_records`); then what `write_batch` adds besides the
    records. False, reading nothing, when the graph cannot be built so."""
    with writer.lock(RESOLUTION_LOCK, lease_s=_LOAD_LEASE_S, wait_s=_LOAD_LEASE_S):
        with writer.loading_records(utc_now()) as records:
            if records is None:
                return False
            load = _Load(records, settings)
            for batch in _read_ahead(_batches(lines, settings.batch_size, origin, None)):
                report.read += batch.read
                report.rejected.extend(batch.rejected)
                load.add(batch, report)
                if on_batch is not None:
                    on_batch(batch.read)
        load.complete(writer, report)
    if keep is not None:
        keep(load)
    return True


class _Load:
    """The records of a bulk load into a new graph, and what is written once
    they are all in: records read twice (updates, as `write_batch` writes them),
    which shared values are generic, IP leases, skill evidence."""

    def __init__(self, records: RecordLoad, settings: Settings) -> None:
        self.records, self.settings = records, settings
        self.again: list[Batch] = []
        self.sighted: list[Record] = []  # those seen on an IP at a time (for the leases)
        self.evidence: list[dict[str, Any]] = []
        self.rows: list[MatchingRow] = []  # as the batch resolver will read them

    def add(self, batch: Batch, report: IngestReport) -> None:
        again = set(self.records.add(batch.for_load))
        if again:
            self.again.append(batch.only(again))
        new = len(batch.records) - len(again)
        report.created += new
        report.updated += batch.read - len(batch.rejected) - new
        if self.settings.ip_authoritative_sources:
            self.sighted += [r for r in batch.records if r.key not in again and _sighted(r)]
        self.evidence += [
            row for row in batch.evidence if row["evidence"] and row["key"] not in again
        ]
        self.rows += [arriving_row(r, {}) for r in batch.records if r.key not in again]

    def complete(self, writer: GraphWriter, report: IngestReport) -> None:
        """What the load's first reading of each record adds; then the records
        read again are written as updates, which redo it for them."""
        settings, size = self.settings, self.settings.batch_size
        # Python work first: the engine indexes the records meanwhile, and the
        # first query waits for it (`GraphWriter.loading_records`).
        found = count_generic(self.records.usage(NAMES_SAMPLED), settings.generic_threshold)
        if not self.again:  # else some rows are not what is stored: read back
            stored = (_as_stored(row, found.generic, self.records.node_id) for row in self.rows)
            report.loaded = Loaded.of(stored, self.records.now, self.records.record_ids())
        save_generic(writer, found)
        report.generic_marked += len(found.changed)
        for start in range(0, len(self.sighted), size):
            update_leases(
                writer, self.sighted[start : start + size],
                authoritative=settings.ip_authoritative_sources, window=settings.ip_window,
            )  # fmt: skip
        for start in range(0, len(self.evidence), size):
            writer.set_evidence(self.evidence[start : start + size])
        for batch in self.again:
            counted = IngestReport()  # they were counted as they were read
            _write(writer, batch, writer.record_state([r.key for r in batch.records]),
                   settings=settings, report=counted)  # fmt: skip
            report.generic_marked += counted.generic_marked
        writer.backend.flush()


def _as_stored(
    row: MatchingRow, generic: Mapping[str, int], node_id: Callable[[str], int]
) -> MatchingRow:
    """The row as the graph gives it back: its generic identifiers marked with
    the people on them, its identifiers in the order of their nodes (the
    order the engine walks a record's edges in)."""
    keyed = [(f"{t}:{v}", (t, v, strength, g, n)) for t, v, strength, g, n in row.identifiers]
    if len(keyed) < 2 and not any(key in generic for key, _ in keyed):
        return row  # nothing to change (most rows): copying them all took seconds a million
    identifiers = [
        (t, v, strength, True, generic[key]) if key in generic else (t, v, strength, g, n)
        for key, (t, v, strength, g, n) in sorted(keyed, key=lambda item: node_id(item[0]))
    ]
    return replace(row, identifiers=identifiers)


def _sighted(record: Record) -> bool:
    return any(i.type == "ip" and i.seen_at is not None for i in record.identifiers)


@dataclass
class Batch:
    """Records ready to write: validated, one per key (the last wins), with the
    rows the graph and the resolver take, built before the lock is taken."""

    read: int
    rejected: list[Rejection]
    records: list[Record]
    rows: list[dict[str, Any]]  # none for a bulk load (`for_load` instead)
    prepared_rows: object  # `rows` as the graph sends them (a quarter of the write's time)
    resolution_rows: list[RecordRow]  # as if new; stored state is added under the lock
    evidence: list[dict[str, Any]]  # per record: the skills it is evidence of
    for_load: list[RecordForLoad]  # for a bulk load only (`RecordLoad.add`)

    @staticmethod
    def of(
        parsed: Sequence[ParsedLine], origin: str, prepare: Callable[[Any], object] | None
    ) -> Batch:
        """Sort a chunk of parsed lines into records to write and rejections;
        `prepare` None: for a bulk load (records for `RecordLoad.add`: made by
        the parsing processes, if they were asked to, `record_for_bulk_load`)."""
        latest: dict[str, tuple[Record, Any]] = {}  # with what the parsing processes made of it
        rejected = []
        for line in parsed:
            if line.record is None:
                rejected.append(Rejection(origin, line.line, line.error or "invalid"))
            else:
                latest[line.record.key] = line.record, line.prepared
        records = [record for record, _ in latest.values()]
        evidence = [_evidence_row(r) for r in records]
        if prepare is None:
            for_load = [made or record_for_bulk_load(r) for r, made in latest.values()]
            return Batch(len(parsed), rejected, records, [], None, [], evidence, for_load)
        rows = [_record_row(r) for r in records]
        # New records' resolution rows: what resolution reads of them once written.
        resolution = [arriving_row(r, {}).for_resolution() for r in records]
        return Batch(len(parsed), rejected, records, rows, prepare(rows), resolution, evidence, [])

    def only(self, keys: Set[str]) -> Batch:
        """The batch's records of these keys, with their rows (nothing read,
        nothing rejected)."""
        kept = [i for i, record in enumerate(self.records) if record.key in keys]
        records = [self.records[i] for i in kept]
        rows = [self.rows[i] for i in kept] if self.rows else [_record_row(r) for r in records]
        return Batch(0, [], records, rows, None, [], [self.evidence[i] for i in kept], [])


def _batches(
    lines: Iterable[ParsedLine], size: int, origin: str, prepare: Callable[[Any], object] | None
) -> Iterator[Batch]:
    chunk: list[ParsedLine] = []
    for parsed in lines:
        chunk.append(parsed)
        if len(chunk) >= size:
            yield Batch.of(chunk, origin, prepare)
            chunk = []
    if chunk:
        yield Batch.of(chunk, origin, prepare)


def _read_ahead(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Prepare the next batch in a thread while the graph works on this one
    (preparing is Python work; the graph's is the server's, on the other core).
    A single batch (one record posted by a helpdesk) needs no thread."""
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None:
        yield first
        return
    yield from _in_thread(itertools.chain([first, second], batches))


def _in_thread(batches: Iterator[Batch]) -> Iterator[Batch]:
    ahead: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=2)

    def produce() -> None:
        try:
            for batch in batches:
                ahead.put(batch)
            ahead.put(None)
        except BaseException as error:  # noqa: BLE001 - handed over, raised in the reader
            ahead.put(error)

    threading.Thread(target=produce, name="ingest-reader", daemon=True).start()
    while (item := ahead.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def ingest_batch(
    writer: GraphWriter, batch: Batch, *, settings: Settings, report: IngestReport
) -> None:
    """Upsert and resolve one batch, atomically with respect to other ingests."""
    keys = [record.key for record in batch.records]
    model = MODELS.current(writer) if settings.online_matching else None
    # A record as it arrives: a batch of one, matched online.
    arriving = model is not None and len(keys) == 1
    with writer.lock_reading(RESOLUTION_LOCK, _start(writer, batch.records, arriving)) as start:
        before = start.states
        rank = rank_in(stored_order(start.settings.get(SOURCE_PRIORITY), settings))
        judgements_exist = JUDGED in start.settings
        writer.upsert_records(
            batch.rows, existing=before.keys(), now=utc_now(), prepared_rows=batch.prepared_rows
        )
        touched_ids = _touched(batch, before)
        leases = update_leases(
            writer, batch.records, authoritative=settings.ip_authoritative_sources,
            window=settings.ip_window,
        )  # fmt: skip
        rows = [_with_state(row, before.get(row.key), leases.accounts)
                for row in batch.resolution_rows]  # fmt: skip
        # With a model, records that nothing links deterministically are matched
        # before they get a profile: one that links joins the matched profile,
        # instead of getting a profile of its own that the link retires at once.
        unplaced = {row.key: row for row in rows if _unplaced(row)} if model is not None else {}
        resolution = functools.partial(
            resolve, writer, generic_threshold=settings.generic_threshold, source_rank=rank,
            judgements_exist=judgements_exist,
        )  # fmt: skip
        first = resolution(
            batch=[row for row in rows if row.key not in unplaced],
            identifier_keys=sorted(touched_ids),
            near_profiles=leases.profiles,
        )
        _add(report, first)
        moved = first.profiles_merged or first.profiles_split
        if model is not None:
            online = link_records(
                writer, batch.records, model=model, thresholds=settings.thresholds,
                generic_threshold=settings.generic_threshold, source_rank=rank,
                judgements_exist=judgements_exist, unplaced=unplaced,
                # Read before the resolution: still true unless it moved records.
                namesakes=None if moved else start.namesakes,
                arriving={r.key: arriving_row(r, start.sharing) for r in batch.records
                          if arriving and r.key in unplaced},
            )  # fmt: skip
            report.probabilistic_links += online.links
            report.review_candidates += online.review
            if online.resolution:
                _add(report, online.resolution)
            left = [row for key, row in unplaced.items() if key not in online.placed]
            if left:
                _add(report, resolution(batch=left, identifier_keys=[]))
        _update_expertise(writer, batch, existing=before.keys())
    _count(report, batch, before)


def write_batch(
    writer: GraphWriter, batch: Batch, *, settings: Settings, report: IngestReport
) -> None:
    """Upsert one batch without resolving it: what `ingest_batch` writes before
    it resolves (see `ingest_lines`)."""
    with writer.lock_reading(RESOLUTION_LOCK, _start(writer, batch.records, False)) as start:
        _write(writer, batch, start.states, settings=settings, report=report)


def _write(
    writer: GraphWriter,
    batch: Batch,
    before: Mapping[str, RecordState],
    *,
    settings: Settings,
    report: IngestReport,
) -> None:
    """`write_batch` under the lock, `before` the stored state of its records."""
    writer.upsert_records(
        batch.rows, existing=before.keys(), now=utc_now(), prepared_rows=batch.prepared_rows
    )
    shared = update_generic(writer, sorted(_touched(batch, before)), settings.generic_threshold)
    report.generic_marked += len(shared.changed)
    update_leases(
        writer, batch.records, authoritative=settings.ip_authoritative_sources,
        window=settings.ip_window,
    )  # fmt: skip
    writer.set_evidence(_changed_evidence(batch, existing=before.keys()))
    _count(report, batch, before)


def _touched(batch: Batch, before: Mapping[str, RecordState]) -> set[str]:
    """The linking identifiers whose sharing the batch can change: those its
    records carry, and those they carried before (dropped ones may stop being shared)."""
    touched = {i["key"] for row in batch.rows for i in row["identifiers"]
               if i["strength"] in LINKING_STRENGTHS}  # fmt: skip
    for state in before.values():
        touched |= state.identifier_keys
    return touched


def _count(report: IngestReport, batch: Batch, before: Mapping[str, RecordState]) -> None:
    new = len(batch.records) - len(before)
    report.created += new
    report.updated += batch.read - len(batch.rejected) - new


def _start(writer: GraphWriter, records: Sequence[Record], arriving: bool) -> Reads[BatchStart]:
    """The settings (nothing an ingest does changes them: read once a batch) and
    the records' stored state, read as the lock is taken; for a record
    `arriving`, also its namesakes and how shared its identifiers are: one
    round trip where there were three."""
    return writer.batch_start(
        [SOURCE_PRIORITY, JUDGED],
        [record.key for record in records],
        name_queries=name_queries(records) if arriving else None,
        limit=CANDIDATES,
        identifier_keys=[i.key for r in records for i in r.identifiers] if arriving else (),
    )


def _update_expertise(writer: GraphWriter, batch: Batch, *, existing: Set[str]) -> None:
    """Store what the batch's records are evidence of, and recompute what the
    employees among them know (their profiles may also have just merged)."""
    writer.set_evidence(_changed_evidence(batch, existing=existing))
    employees = [row["key"] for row in batch.evidence if row["kind"] == "employee"]
    if employees:
        refresh_expertise(writer, writer.record_profiles(employees).values())


def _changed_evidence(batch: Batch, *, existing: Set[str]) -> list[dict[str, Any]]:
    """The batch's records with evidence, and stored ones whose evidence may be gone."""
    return [row for row in batch.evidence if row["evidence"] or row["key"] in existing]


def _add(report: IngestReport, outcome: ResolutionOutcome) -> None:
    report.profiles_created += outcome.profiles_created
    report.profiles_merged += outcome.profiles_merged
    report.profiles_split += outcome.profiles_split
    report.generic_marked += outcome.generic_marked


def _unplaced(row: RecordRow) -> bool:
    """A new record that nothing links deterministically: alone until the model
    links it (its identifiers, if any, are weak ones)."""
    return row.profile_id is None and not row.linking_keys and not row.leased


def _with_state(row: RecordRow, state: RecordState | None, leased: Mapping[str, str]) -> RecordRow:
    """The row with the profile and link the record had before this batch, and
    the account an IP lease attributes it to."""
    if row.key in leased:
        row = replace(row, leased=(leased[row.key],))
    return row if state is None else replace(row, profile_id=state.profile_id, link=state.link)


def attributes_json(attributes: Mapping[str, str]) -> str:
    """The attributes as `json.dumps(attributes, ensure_ascii=False,
    sort_keys=True)` writes them (their values are texts), in about half its
    time (which makes an encoder per call): 1.6 s less a million records."""
    items = sorted(attributes.items())
    return "{" + ", ".join(f"{_quoted(k)}: {_quoted(v)}" for k, v in items) + "}"


def _record_row(record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "source": record.source,
        "source_id": record.source_id,
        "kind": record.kind,
        "observed_at": utc_text_or_none(record.observed_at),
        "name": record.name,
        "search_name": fold(record.name) if record.name else None,
        "text": record.text,
        "topics": list(record.topics),
        "attributes": attributes_json(record.attributes),
        "identifiers": [
            {
                "key": identifier.key,
                "type": identifier.type,
                "value": identifier.value,
                "strength": strength(identifier.type).value,
                "seen_at": utc_text_or_none(identifier.seen_at),
            }
            for identifier in record.identifiers
        ],
    }


def record_for_bulk_load(record: Record) -> RecordForLoad:
    """The record as a bulk load adds it (`RecordLoad.add`); the parsing
    processes make it (`resolvers.parallel`), where this one had no core to spare."""
    return record_for_load(_record_row(record))


def _evidence_row(record: Record) -> dict[str, Any]:
    found = record_evidence(record.source, record.kind, record.text, list(record.topics))
    return {"key": record.key, "kind": record.kind, "evidence": [vars(e) for e in found]}
