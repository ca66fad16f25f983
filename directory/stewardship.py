"""The data stewards' actions: decide a review candidate, merge profiles, split
one, override a golden-record value, undo; the review queue and the audit trail.

The admin UI and the GraphQL API both call these functions. Every action runs
under the resolution lock, stores what a person decided as append-only
judgements (which every later resolution replays, online and batch),
re-resolves the profiles it touched and records an `Event` with their state
before and after: the history shows it, and `undo` puts the "before" back.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ulid import ULID

from directory.priority import SOURCE_PRIORITY, source_order, source_rank
from directory.profiles import golden_record
from directory.settings import Settings
from graph.judgements import REVIEW_CHANGED
from graph.model import Event, Judgement, ReviewRow
from graph.store import GraphWriter
from resolvers.deterministic import clusters
from resolvers.model import utc_now
from resolvers.online import RESOLUTION_LOCK, resolve
from resolvers.skills import refresh_expertise

log = logging.getLogger("directory.stewardship")

DECISIONS = ("same", "different", "unsure")
QUEUE_STATUSES = ("pending", "unsure")
# A split stores a "different" judgement for each pair across the cut, so no
# shared value re-joins them whatever order resolution meets them in.
MAX_SPLIT_PAIRS = 10_000
_QUEUE_SCAN = 4  # candidates read per one shown (some are already in one profile)


class StewardError(ValueError):
    """An action that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class QueueItem:
    """A review candidate as the queue shows it, with the parts of its rank."""

    candidate: ReviewRow
    priority: float
    size_factor: float


def review_queue(
    writer: GraphWriter,
    *,
    status: str = "pending",
    source: str | None = None,
    kind: str | None = None,
    first: int = 50,
) -> list[QueueItem]:
    """Review candidates most consequential first: match probability times
    1 + log2(records of both profiles), newest first among equals; one per
    pair of profiles."""
    if status not in QUEUE_STATUSES:
        raise StewardError(f"status must be one of {', '.join(QUEUE_STATUSES)}")
    rows = writer.review_queue(
        statuses=[status], source=source or None, kind=kind or None, limit=first * _QUEUE_SCAN
    )
    items: dict[frozenset[str], QueueItem] = {}
    for row in rows:
        factor = 1.0 + math.log2(max(1, (row.left_size or 1) + (row.right_size or 1)))
        pair = frozenset((row.left_profile, row.right_profile))
        if pair not in items:
            items[pair] = QueueItem(row, row.probability * factor, factor)
    # Ranked again on the sizes just read (the stored rank is refreshed after
    # each change, this covers candidates stored before a profile grew).
    return sorted(items.values(), key=lambda item: -item.priority)[:first]


QueueFilter = tuple[str, str | None, str | None]  # status, source, kind


class QueueSnapshots:
    """The review queue as the UI shows it: per filter, the top `depth`
    candidates, kept in memory and refreshed in the background once older than
    `ttl_s` (or `min_interval_s` once the graph marks the candidates changed),
    and never sooner than ten times the last read took. Ranking every candidate
    of a big graph takes seconds (5-6 s for 1.6 M candidates); a page must not
    wait for it. Pairs decided here leave the snapshots at once."""

    def __init__(
        self, *, ttl_s: float = 30.0, min_interval_s: float = 5.0, depth: int = 2000
    ) -> None:
        self._ttl_s = ttl_s
        self._min_interval_s = min_interval_s
        self._depth = depth
        self._lock = threading.Lock()
        self._snapshots: dict[QueueFilter, _Snapshot] = {}
        self._refreshing: dict[QueueFilter, threading.Event] = {}  # set when done
        self._decided: dict[frozenset[str], float] = {}  # pair -> when it was decided here

    def items(
        self, writer: GraphWriter, *, status: str = "pending", source: str | None = None,
        kind: str | None = None, first: int = 50,
    ) -> list[QueueItem]:  # fmt: skip
        key = (status, source, kind)
        if source or kind:
            narrowed = self._narrowed(writer, key, first)
            if narrowed is not None:
                return narrowed
        version = writer.setting(REVIEW_CHANGED)
        with self._lock:
            snapshot = self._snapshots.get(key)
            underway = self._refreshing.get(key)
        if snapshot is None and underway is not None:  # the first read is underway: join it
            underway.wait(timeout=120)
            with self._lock:
                snapshot = self._snapshots.get(key)
        age = time.monotonic() - snapshot.started if snapshot else 0.0
        if snapshot is None or (not snapshot.items and snapshot.version != version):
            snapshot = self._build(writer, key)  # nothing to show meanwhile
        elif age > snapshot.took * 10 and (
            age > self._ttl_s or (snapshot.version != version and age > self._min_interval_s)
        ):  # refreshing keeps the graph busy at most a tenth of the time
            self._refresh_later(writer, key)
        with self._lock:
            hidden = {pair for pair, at in self._decided.items() if at >= snapshot.started}
        return [i for i in snapshot.items if _pair(i) not in hidden][:first]

    def _narrowed(
        self, writer: GraphWriter, key: QueueFilter, first: int
    ) -> list[QueueItem] | None:
        """A filtered queue read off the unfiltered one (kept deeper), when it
        holds enough candidates of that source or kind; None when it does not."""
        status, source, kind = key
        wide = self.items(writer, status=status, first=self._depth)
        complete = len(wide) < self._depth  # the whole queue is here: filtering it is exact
        found = [i for i in wide if _matches(i.candidate, source, kind)]
        return found[:first] if complete or len(found) >= first else None

    def forget(self, left: str, right: str) -> None:
        """A pair was just decided: never show it from an older snapshot."""
        with self._lock:
            self._decided[frozenset((left, right))] = time.monotonic()

    def warm(self, writer: GraphWriter) -> None:
        """Build the unfiltered queues in the background (at start); filtered
        ones are mostly read off them."""
        for status in QUEUE_STATUSES:
            self._refresh_later(writer, (status, None, None))

    def _build(self, writer: GraphWriter, key: QueueFilter) -> _Snapshot:
        started = time.monotonic()
        version = writer.setting(REVIEW_CHANGED)
        status, source, kind = key
        items = review_queue(writer, status=status, source=source, kind=kind, first=self._depth)
        snapshot = _Snapshot(started, version, items, time.monotonic() - started)
        with self._lock:
            self._snapshots[key] = snapshot
            oldest = min(s.started for s in self._snapshots.values())
            self._decided = {p: at for p, at in self._decided.items() if at >= oldest}
        return snapshot

    def _refresh_later(self, writer: GraphWriter, key: QueueFilter) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            done = self._refreshing[key] = threading.Event()

        def refresh() -> None:
            try:
                self._build(writer, key)
            except Exception:  # a failed refresh keeps the old snapshot
                log.exception("refreshing the review queue failed")
            finally:
                with self._lock:
                    del self._refreshing[key]
                done.set()

        threading.Thread(target=refresh, name="review-queue", daemon=True).start()


@dataclass(frozen=True)
class _Snapshot:
    started: float  # monotonic time the read began
    version: str | None  # the graph's review-changed marker then
    items: list[QueueItem]
    took: float  # seconds the read took


def _matches(candidate: ReviewRow, source: str | None, kind: str | None) -> bool:
    """As the graph's queue filters: either record's source, either profile's kind."""
    by_source = source is None or source in (candidate.left_source, candidate.right_source)
    by_kind = kind is None or kind in (candidate.kind, candidate.right_kind)
    return by_source and by_kind


def _pair(item: QueueItem) -> frozenset[str]:
    return frozenset((item.candidate.left, item.candidate.right))


@dataclass
class Snapshot:
    """What an action changed: each touched profile's name, redirect, overrides and records."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def records(self) -> set[str]:
        return {key for state in self.profiles.values() for key in state["records"]}


def _snapshot(writer: GraphWriter, profile_ids: Iterable[str]) -> Snapshot:
    return Snapshot(writer.profile_heads(sorted(set(profile_ids))))


@dataclass(frozen=True)
class _Plan:
    """An action, worked out before anything is written."""

    action: str
    summary: str
    profiles: set[str]  # live profiles it re-resolves
    judgements: list[Judgement] = field(default_factory=list)
    claims: Mapping[str, str | None] | None = None
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # profile -> values
    undoes: str | None = None


def decide(
    writer: GraphWriter, settings: Settings, *, left: str, right: str, decision: str, by: str,
    reason: str | None = None,
) -> Event:  # fmt: skip
    """Judge two records: "same" joins their profiles, "different" keeps them
    apart for good, "unsure" leaves them as they are (kept aside in the queue).
    "Different" on two records of one profile parts them, the others following
    what links them; `split` says exactly which records go."""
    if decision not in DECISIONS:
        raise StewardError(f"decision must be one of {', '.join(DECISIONS)}")
    if left == right:
        raise StewardError("a record is always the same as itself")
    homes = writer.record_profiles([left, right])
    for key in (left, right):
        if key not in homes:
            raise StewardError(f"no record {key!r}")
    if decision == "same" and homes[left] != homes[right]:
        _no_standing_different(writer, homes[left], homes[right], (left, right))
    candidate = writer.review_between(left, right)
    judgement = _judgement(left, right, decision, by, reason,
                           score=candidate.probability if candidate else None)  # fmt: skip
    plan = _Plan(
        action="decide",
        summary=f"judged {left} and {right} {_said(decision)}",
        profiles={homes[left], homes[right]},
        judgements=[judgement],
    )
    return _apply(writer, settings, plan, by=by)


def _no_standing_different(
    writer: GraphWriter, one: str, other: str, pair: tuple[str, str]
) -> None:
    """Refuse to join two profiles that a person said hold different people
    (unless it is this very pair, judged again: the newer judgement wins)."""
    members = dict(writer.profile_record_pairs([one, other]))
    for j in writer.current_judgements(sorted(members)):
        sides = {members.get(j.left), members.get(j.right)}
        again = {j.left, j.right} == set(pair)
        if j.decision == "different" and sides == {one, other} and not again:
            raise StewardError(
                f"{j.by} judged {j.left} and {j.right} not the same ({j.at}); "
                "merge the two profiles to overrule that"
            )


def _said(decision: str) -> str:
    return {"same": "the same person", "different": "not the same", "unsure": "unsure"}.get(
        decision, decision
    )


def merge(
    writer: GraphWriter, settings: Settings, *, profile_ids: Sequence[str], survivor: str | None,
    by: str, reason: str | None = None,
) -> Event:  # fmt: skip
    """Merge profiles into one that keeps the `survivor` id (default: the
    biggest); the others redirect to it. Stored as "same" judgements, so no
    later resolution splits them again; a "different" judgement between them is
    superseded."""
    live = _live_ids(writer, profile_ids)
    if len(live) < 2:
        raise StewardError("a merge needs two or more different live profiles")
    heads = writer.profile_heads(live)
    if survivor is None:
        survivor = max(live, key=lambda pid: (len(heads[pid]["records"]), pid))
    survivor = writer.resolve_profile_id(survivor) or survivor
    if survivor not in live:
        raise StewardError(f"the surviving id {survivor!r} is not one of the merged profiles")
    anchor = heads[survivor]["records"][0]
    judgements = [
        _judgement(anchor, heads[pid]["records"][0], "same", by, reason or "merged")
        for pid in live
        if pid != survivor
    ]
    merged = {key for pid in live for key in heads[pid]["records"]}
    judgements += [
        _judgement(j.left, j.right, "same", by, reason or "merged")
        for j in writer.current_judgements(sorted(merged))
        if j.decision == "different" and j.left in merged and j.right in merged
    ]
    others = ", ".join(pid for pid in live if pid != survivor)
    plan = _Plan(
        action="merge",
        summary=f"merged {others} into {survivor}",
        profiles=set(live),
        judgements=judgements,
        claims=dict.fromkeys(merged, survivor),
    )
    return _apply(writer, settings, plan, by=by)


def split(
    writer: GraphWriter, settings: Settings, *, profile_id: str, records: Sequence[str], by: str,
    reason: str | None = None,
) -> Event:  # fmt: skip
    """Move records out of a profile into a new one. Stored as judgements: "not
    the same" across the cut, and "same" wherever a side would otherwise fall
    apart, so resolution keeps exactly the two profiles the steward made."""
    live = writer.resolve_profile_id(profile_id)
    heads = writer.profile_heads([live]) if live else {}
    if not live or live not in heads:
        raise StewardError(f"no profile {profile_id!r}")
    members = heads[live]["records"]
    moved = sorted(set(records))
    if stray := [key for key in moved if key not in members]:
        raise StewardError(f"not records of profile {live}: {', '.join(stray)}")
    staying = [key for key in members if key not in set(moved)]
    if not moved or not staying:
        raise StewardError("a split moves some of the profile's records out, not none or all")
    if len(moved) * len(staying) > MAX_SPLIT_PAIRS:
        raise StewardError(
            f"a split of {len(moved)} from {len(staying)} records is too big for one step"
        )
    why = reason or "split"
    judgements = [_judgement(a, b, "different", by, why) for a in staying for b in moved]
    judgements += _holding_together(writer, staying, by, why)
    judgements += _holding_together(writer, moved, by, why)
    claims: dict[str, str | None] = dict.fromkeys(staying, live)
    claims.update(dict.fromkeys(moved))
    plan = _Plan(
        action="split",
        summary=f"split {len(moved)} of {len(members)} records out of {live}",
        profiles={live},
        judgements=judgements,
        claims=claims,
    )
    return _apply(writer, settings, plan, by=by)


def _holding_together(
    writer: GraphWriter, keys: Sequence[str], by: str, reason: str
) -> list[Judgement]:
    """ "Same" judgements that keep records together where, on their own, they
    would fall into several clusters."""
    rows = writer.records_for_resolution(keys)
    parts = clusters(rows, writer.current_judgements(keys))
    if len(parts) < 2:
        return []
    anchor = parts[0].records[0].key
    return [_judgement(anchor, part.records[0].key, "same", by, reason) for part in parts[1:]]


def override(
    writer: GraphWriter, settings: Settings, *, profile_id: str, attribute: str,
    value: str | None, by: str,
) -> Event:  # fmt: skip
    """Choose the value a profile shows for an attribute (None: back to the
    source-priority rule). Contact points are never overridden: all are kept."""
    live = writer.resolve_profile_id(profile_id)
    profile = writer.profile(live) if live else None
    if profile is None or live is None:
        raise StewardError(f"no profile {profile_id!r}")
    known = {g.name: g for g in golden_record(profile, source_rank(writer, settings))}
    if attribute not in known:
        raise StewardError(f"profile {live} has no attribute {attribute!r}")
    overrides = dict(profile.overrides)
    if value is None:
        overrides.pop(attribute, None)
        summary = f"{attribute} of {live} back to the source-priority rule"
    else:
        overrides[attribute] = value
        summary = f"{attribute} of {live} set to {value!r}"
    plan = _Plan(action="override", summary=summary, profiles={live},
                 overrides={live: overrides})  # fmt: skip
    return _apply(writer, settings, plan, by=by)


def set_source_priority(
    writer: GraphWriter, settings: Settings, *, order: Sequence[str], by: str
) -> Event:
    """Set which source's value wins, most trusted first (the display name and
    every golden-record attribute; a profile's stored display name follows at
    its next resolution, or at once with `directory resolve --force`)."""
    cleaned = list(dict.fromkeys(source.strip() for source in order if source.strip()))
    if not cleaned:
        raise StewardError("name at least one source")
    with writer.lock(RESOLUTION_LOCK):
        before = source_order(writer, settings)
        writer.set_setting(SOURCE_PRIORITY, json.dumps(cleaned))
        event = Event(id=str(ULID()), action="priority", by=by, at=utc_now(),
                      summary=f"source priority: {' > '.join(cleaned)}", profiles=[],
                      detail={"before_order": before, "after_order": cleaned})  # fmt: skip
        writer.add_event(event)
    return event


def _undo_priority(writer: GraphWriter, event: Event, by: str) -> Event:
    """Put back the source order a priority change replaced."""
    later = [e for e in writer.events(limit=1000)
             if e.action == "priority" and e.id > event.id and e.undone_by is None]  # fmt: skip
    if later:
        raise StewardError(f"a later priority change depends on it: undo {later[0].id} first")
    before: list[str] = event.detail["before_order"]
    with writer.lock(RESOLUTION_LOCK):
        writer.set_setting(SOURCE_PRIORITY, json.dumps(before))
        done = Event(id=str(ULID()), action="undo", by=by, at=utc_now(),
                     summary=f"undid priority {event.id}: back to {' > '.join(before)}",
                     profiles=[], detail={"undoes": event.id})  # fmt: skip
        writer.add_event(done)
        writer.mark_undone(event.id, done.id)
    return done


def undo(writer: GraphWriter, settings: Settings, *, event_id: str, by: str) -> Event:
    """Put back the state before an action, when no later action depends on it
    (touched one of its profiles since). Judgements are not deleted: the ones
    it made are superseded by what was in force before (or a retraction)."""
    event = writer.event(event_id)
    if event is None:
        raise StewardError(f"no action {event_id!r}")
    if event.action == "undo":
        raise StewardError("an undo is not undone; do the action again instead")
    if event.undone_by:
        raise StewardError(f"action {event_id} was already undone by {event.undone_by}")
    if event.action == "priority":
        return _undo_priority(writer, event, by)
    later = [
        e for e in writer.events_after(event.id, event.profiles)
        if e.undone_by is None and e.action != "undo"
    ]  # fmt: skip
    if later:
        names = ", ".join(f"{e.action} {e.id}" for e in sorted(later, key=lambda e: e.id))
        raise StewardError(f"later actions on the same profiles depend on it: undo {names} first")
    before: dict[str, dict[str, Any]] = event.detail["before"]
    restored = [
        _judgement(left, right, prior or "retracted", by, f"undo of {event.id}")
        for left, right, prior in event.detail["prior"]
    ]
    claims = {key: pid for pid, state in before.items() for key in state["records"]}
    touched = writer.record_profiles(list(claims))
    plan = _Plan(
        action="undo",
        summary=f"undid {event.action} {event.id}: {event.summary}",
        profiles=set(touched.values()) | set(before),
        judgements=restored,
        claims=claims,
        overrides={pid: state["overrides"] for pid, state in before.items()},
        undoes=event.id,
    )
    done = _apply(writer, settings, plan, by=by, also_touched=event.profiles)
    writer.mark_undone(event.id, done.id)
    return done


def history(writer: GraphWriter, *, profile_id: str | None = None, first: int = 100) -> list[Event]:
    """Steward actions, newest first: all, or those about one profile (an id
    merged away shows the survivor's)."""
    live = writer.resolve_profile_id(profile_id) if profile_id else None
    if profile_id and live is None:
        raise StewardError(f"no profile {profile_id!r}")
    return writer.events(profile_id=live, limit=max(1, min(first, 1000)))


def _apply(
    writer: GraphWriter, settings: Settings, plan: _Plan, *, by: str,
    also_touched: Iterable[str] = (),
) -> Event:  # fmt: skip
    """Write an action: judgements, overrides, re-resolution; then its event."""
    with writer.lock(RESOLUTION_LOCK):
        before = _snapshot(writer, plan.profiles)
        judged = {key for j in plan.judgements for key in (j.left, j.right)}
        in_force = {
            frozenset((j.left, j.right)): j.decision for j in writer.current_judgements(judged)
        }
        prior = [[j.left, j.right, in_force.get(frozenset((j.left, j.right)))]
                 for j in plan.judgements]  # fmt: skip
        writer.add_judgements(plan.judgements)
        for profile_id, overrides in plan.overrides.items():
            writer.set_profile_overrides(profile_id, overrides, None)
        keys = sorted(before.records())
        rank = source_rank(writer, settings)
        if plan.judgements or plan.claims:
            resolve(
                writer,
                batch=writer.records_for_resolution(keys),
                identifier_keys=[],
                generic_threshold=settings.generic_threshold,
                source_rank=rank,
                near_profiles=plan.profiles,
                claims=plan.claims,
            )
        homes = writer.record_profiles(keys)
        # Resolution named the profiles it wrote; those with new overrides are named here.
        _refresh_names(writer, rank, plan.overrides.keys())
        refresh_expertise(writer, set(homes.values()))
        after = _snapshot(writer, set(homes.values()) | plan.profiles)
        writer.refresh_review(keys)
        event = Event(
            id=str(ULID()),
            action=plan.action,
            by=by,
            at=utc_now(),
            summary=plan.summary,
            profiles=sorted(set(before.profiles) | set(after.profiles) | set(also_touched)),
            detail={"before": before.profiles, "after": after.profiles, "prior": prior,
                    "judgements": [vars(j) for j in plan.judgements],
                    **({"undoes": plan.undoes} if plan.undoes else {})},
        )  # fmt: skip
        writer.add_event(event)
    return event


def _refresh_names(
    writer: GraphWriter, rank: Callable[[str], int], profile_ids: Iterable[str]
) -> None:
    """Store the display name each profile shows now (its override, or survivorship)."""
    for profile_id in sorted(profile_ids):
        profile = writer.profile(profile_id)
        if profile is None:
            continue
        golden = golden_record(profile, rank)
        name = next((g.value for g in golden if g.name == "name"), None)
        writer.set_profile_overrides(profile_id, profile.overrides, name)


def _live_ids(writer: GraphWriter, profile_ids: Sequence[str]) -> list[str]:
    live = []
    for profile_id in profile_ids:
        found = writer.resolve_profile_id(profile_id)
        if found is None:
            raise StewardError(f"no profile {profile_id!r}")
        if found not in live:
            live.append(found)
    return live


def _judgement(
    left: str, right: str, decision: str, by: str, reason: str | None, *,
    score: float | None = None,
) -> Judgement:  # fmt: skip
    return Judgement(id=str(ULID()), left=left, right=right, decision=decision, by=by,
                     at=utc_now(), reason=reason, score=score)  # fmt: skip


def export_judgements(writer: GraphWriter) -> Iterator[dict[str, Any]]:
    """Every judgement ever made, oldest first, as JSON-able dicts (one per line)."""
    for judgement in writer.all_judgements():
        yield vars(judgement)


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # line, reason


def import_judgements(
    writer: GraphWriter, settings: Settings, lines: Iterable[tuple[int, dict[str, Any]]], *,
    by: str,
) -> ImportReport:  # fmt: skip
    """Replay exported judgements in order (each supersedes what was in force
    for its pair), then re-resolve the profiles they touch. A line naming an
    unknown record or decision is skipped with its reason; the rest go in."""
    report = ImportReport()
    accepted: list[tuple[int, Judgement]] = []
    for line, item in lines:
        report.read += 1
        decision = item.get("decision")
        if decision not in (*DECISIONS, "retracted"):
            report.skipped.append((line, f"unknown decision {decision!r}"))
            continue
        if not item.get("left") or not item.get("right"):
            report.skipped.append((line, "needs left and right record keys"))
            continue
        accepted.append((line, Judgement(
            id=str(item.get("id") or ULID()), left=str(item["left"]), right=str(item["right"]),
            decision=str(decision), by=str(item.get("by") or by),
            at=str(item.get("at") or utc_now()), reason=item.get("reason"),
            score=item.get("score"),
        )))  # fmt: skip
    homes = writer.record_profiles([k for _, j in accepted for k in (j.left, j.right)])
    known = []
    for line, judgement in accepted:
        missing = [k for k in (judgement.left, judgement.right) if k not in homes]
        if missing:
            report.skipped.append((line, f"no record {missing[0]!r}"))
        else:
            known.append(judgement)
    for start in range(0, len(known), 1000):
        chunk = known[start : start + 1000]
        plan = _Plan(
            action="import",
            summary=f"imported {len(chunk)} judgements",
            profiles={homes[k] for j in chunk for k in (j.left, j.right)},
            judgements=chunk,
        )
        _apply(writer, settings, plan, by=by)
        report.imported += len(chunk)
    return report
