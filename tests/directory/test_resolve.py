"""Batch resolution with the match model on the real embedded graph, and the
`directory resolve` command as a user runs it."""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from directory.auth import Role
from directory.demo_data import generate_large_with_truth
from directory.ingest import MODELS
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.model import MatchingRow
from graph.store import GraphWriter
from resolvers import batch
from resolvers.batch import BatchReport, record_features, resolve_all, without_cycle_collection
from resolvers.blocking import candidate_pairs
from resolvers.features import Features
from resolvers.incremental import arriving_row
from resolvers.match_model import train
from resolvers.probabilistic import ScoredPair, Thresholds, decide, score_pairs
from resolvers.records import iter_json_array_items, parse_record
from tests.conftest import LiveServer, gql
from tests.directory.test_cli import run
from tests.helpers import load, profile_of, rec
from tests.resolvers.population import population


def _resolve(writer: GraphWriter, settings: Settings, *, force: bool = False) -> BatchReport:
    return resolve_all(
        writer, thresholds=settings.thresholds, source_rank=settings.source_rank, force=force
    )


def _profiles(writer: GraphWriter) -> dict[str, str]:
    rows = writer.record_assignments("", 10_000)
    return {row["key"]: row["profile_id"] for row in rows}


def test_resolution_links_what_shares_no_identifier_and_merges_nobody(
    falkor: GraphWriter, settings: Settings
) -> None:
    records, truth = population(people=80)
    load(falkor, records, settings)
    before = _profiles(falkor)
    report = _resolve(falkor, settings)
    after = _profiles(falkor)
    assert report.trained
    assert report.links > 0
    assert report.profiles_after == len(set(after.values())) < len(set(before.values()))
    people_of: dict[str, set[int]] = defaultdict(set)
    for key, profile in after.items():
        people_of[profile].add(truth[key])
    assert all(len(people) == 1 for people in people_of.values())  # no false merge
    twice = [p for p in range(80) if f"crm/B{p}" in after]
    joined = [p for p in twice if after[f"crm/A{p}"] == after[f"crm/B{p}"]]
    assert len(joined) >= 0.9 * len(twice)


def test_a_second_run_is_a_no_op_until_a_record_changes(
    falkor: GraphWriter, settings: Settings
) -> None:
    records, _ = population(people=40)
    load(falkor, records, settings)
    first = _resolve(falkor, settings)
    assert not first.skipped
    assert _resolve(falkor, settings).skipped
    load(falkor, [rec("crm", "new", "Zoe Xylander", email="zoe@example.org")], settings)
    again = _resolve(falkor, settings)
    assert not again.skipped
    assert not again.trained  # the stored model is reused
    assert again.model_version == first.model_version
    assert _resolve(falkor, settings).skipped
    load(falkor, [rec("crm", "new", "Zoe Xylander", email="zoe@example.net")], settings)
    assert not _resolve(falkor, settings).skipped  # an update counts as a change too


def test_ids_stay_and_later_ingests_keep_the_probabilistic_links(
    falkor: GraphWriter, settings: Settings
) -> None:
    records, _ = population(people=40)
    load(falkor, records, settings)
    _resolve(falkor, settings)
    resolved = _profiles(falkor)
    linked = next(k for k in resolved if k.startswith("crm/B") and resolved[k] == resolved[
        k.replace("/B", "/A")])  # fmt: skip
    # An ingest re-clusters the neighbourhood of its batch deterministically:
    # the stored MATCHED edges keep the probabilistic links.
    load(falkor, [r for r in records if f"{r['source']}/{r['source_id']}" == linked], settings)
    assert _profiles(falkor) == resolved
    forced = _resolve(falkor, settings, force=True)
    assert forced.profiles_unchanged == forced.profiles_after
    assert _profiles(falkor) == resolved


def test_a_family_stays_apart_and_review_candidates_are_stored(
    falkor: GraphWriter, settings: Settings
) -> None:
    """Parent and child sharing a family email, an address and a family name."""
    home = {"address": "757 avenue Victor Hugo", "city": "Paris", "postcode": "75016"}
    records, _ = population(people=40)
    records += [
        {**rec("crm", "P1", "Camille Simon", email="famille.simon@orange.fr",
               account="FR4548386"), "attributes": {**home, "birth_date": "1948-02-16"}},
        {**rec("crm", "P2", "Antoine Simon", email="famille.simon@orange.fr",
               account="FR9670244"), "attributes": {**home, "birth_date": "1980-06-09"}},
    ]  # fmt: skip
    load(falkor, records, settings)
    report = _resolve(falkor, settings)
    assert profile_of(falkor, "crm", "P1") != profile_of(falkor, "crm", "P2")
    stored = falkor.review_candidates(1000)
    assert len(stored) == report.review > 0
    assert all(settings.review_threshold <= c.probability for c in stored)
    assert all(c.reason for c in stored)


def test_a_forked_copy_finds_the_pairs_and_trains_the_same_model(
    falkor: GraphWriter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(falkor, population(people=60)[0], settings)
    in_process = _resolve(falkor, settings)
    trained_here, profiles = _fit(falkor), _profiles(falkor)
    forks = _counted_forks(monkeypatch)
    monkeypatch.setattr(batch, "BESIDE_FROM", 2)
    beside = resolve_all(
        falkor, thresholds=settings.thresholds, source_rank=settings.source_rank, retrain=True
    )
    assert len(forks) == 2  # the features' last part, then the pairs and the model
    assert beside.trained
    assert _fit(falkor) == trained_here  # another version of the same model
    assert in_process.candidate_pairs > 0
    found = (beside.candidate_pairs, beside.pairs_compared, beside.links, beside.review)
    assert found == (in_process.candidate_pairs, in_process.pairs_compared, in_process.links,
                     in_process.review)  # fmt: skip
    assert _profiles(falkor) == profiles
    with_the_model = _resolve(falkor, settings, force=True)  # found beside, nothing trained
    assert len(forks) == 4
    assert not with_the_model.trained
    assert (with_the_model.candidate_pairs, with_the_model.links) == found[::2]
    assert "block" in with_the_model.seconds


def test_without_a_fork_the_pairs_are_found_here(
    falkor: GraphWriter,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    load(falkor, population(people=40)[0], settings)
    in_process = _resolve(falkor, settings)

    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(batch, "BESIDE_FROM", 2)
    again = _resolve(falkor, settings, force=True)
    assert "could not fork to make the features" in caplog.text
    assert "could not fork to find the candidate pairs" in caplog.text
    assert (again.candidate_pairs, again.links) == (in_process.candidate_pairs, in_process.links)


def _counted_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the copies `os.fork` makes from now on (in this process)."""
    forks: list[int] = []
    fork = os.fork

    def counted_fork() -> int:
        pid = fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted_fork)
    return forks


def _rows_forked_for(monkeypatch: pytest.MonkeyPatch) -> list[MatchingRow]:
    """A small population's rows, with forking from two records on."""
    monkeypatch.setattr(batch, "BESIDE_FROM", 2)
    records, _ = population(people=10)
    return [arriving_row(parse_record(r), {}) for r in records]


def test_a_forked_copy_makes_the_same_features(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _rows_forked_for(monkeypatch)
    forks = _counted_forks(monkeypatch)
    beside = batch.features_of(rows)
    assert len(forks) == 1
    assert 0 < int(len(rows) * batch._FEATURES_HERE) < len(rows)  # both made some
    assert beside == [record_features(row) for row in rows]
    assert "making the features here" not in caplog.text  # the copy made its part


def test_features_the_copy_did_not_send_are_made_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _rows_forked_for(monkeypatch)
    here, make = os.getpid(), batch._features_from
    monkeypatch.setattr(  # the copy dies; made here, they are made
        batch, "_features_from", lambda *a: make(*a) if os.getpid() == here else os._exit(3)
    )
    assert batch.features_of(rows) == [record_features(row) for row in rows]
    assert "exit status 3" in caplog.text
    assert "making the features here" in caplog.text


def test_a_resolution_stopped_before_the_copy_is_given_its_clusters_leaves_no_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feats = [record_features(row) for row in _rows_forked_for(monkeypatch)]
    with closing(batch._Candidates(feats, train_model=True)) as candidates:
        assert candidates.forked is not None
        pid = candidates.forked._pid
    with pytest.raises(ChildProcessError):  # stopped and reaped
        os.waitpid(pid, os.WNOHANG)


def _fit(writer: GraphWriter) -> dict[str, object]:
    """The current model's estimates (without its version and time)."""
    body = json.loads(writer.current_match_model() or "{}")
    assert body["m"]
    return {k: v for k, v in body.items() if k not in ("version", "trained_at")}


def test_the_resolve_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    records, _ = population(people=40)
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run(data_dir, "ingest", str(source)).returncode == 0
    first = run(data_dir, "resolve")
    assert first.returncode == 0, first.stderr
    said = " ".join(first.stderr.split())  # the console wraps long lines
    assert "(trained now)" in said
    assert "probabilistic links" in said
    again = run(data_dir, "resolve")
    assert "nothing to resolve" in " ".join(again.stderr.split())
    assert "--train" in run(data_dir, "resolve", "--help").stdout


def test_a_bulk_load_decides_as_ingest_then_resolve(tmp_path: Path) -> None:
    records = [record for record, _ in generate_large_with_truth(1500)]
    source = tmp_path / "records.jsonl"
    lines = [json.dumps(record) for record in records]
    lines.insert(700, json.dumps({"source": "crm", "name": "no id"}))
    source.write_text("".join(line + "\n" for line in lines))
    one_by_one, bulk = tmp_path / "one-by-one", tmp_path / "bulk"
    assert run(one_by_one, "ingest", str(source)).returncode == 1
    assert run(one_by_one, "resolve").returncode == 0

    loaded = run(bulk, "ingest", "--bulk", str(source))
    said = " ".join(loaded.stderr.split())
    assert loaded.returncode == 1, said  # one line rejected, the others in
    assert "read 1501, created 1500, updated 0, rejected 1" in said
    assert f"{source}:701" in said
    assert "(trained now)" in said
    assert "probabilistic links" in said
    assert "profiles created" not in said  # the batches were not resolved one by one
    assert _partition(bulk) == _partition(one_by_one)
    assert "nothing to resolve" in " ".join(run(bulk, "resolve").stderr.split())


def test_a_bulk_load_of_nothing_valid_says_so(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"source": "crm"}\nnope\n')
    loaded = run(tmp_path / "data", "ingest", "--bulk", str(source))
    said = " ".join(loaded.stderr.split())
    assert loaded.returncode == 1
    assert "read 2, created 0, updated 0, rejected 2" in said
    assert "nothing to resolve: the graph holds 0 record(s)" in said


def _partition(data_dir: Path) -> set[frozenset[str]]:
    """The records of each profile (whatever the profiles' ids)."""
    exported = run(data_dir, "export", "assignments")
    members: dict[str, set[str]] = defaultdict(set)
    for row in map(json.loads, exported.stdout.splitlines()):
        members[row["profile_id"]].add(f"{row['source']}/{row['source_id']}")
    return {frozenset(keys) for keys in members.values()}


WHY = """query($a: String!, $b: String!) { why(a: $a, b: $b) {
  left right modelVersion weight probability priorWeight
  parts { comparison level weight tfAdjustment genericAdjustment value } } }"""


@contextmanager
def _server_graph(settings: Settings) -> Iterator[GraphWriter]:
    """The live server's graph (another connection to it), with a population loaded."""
    backend = open_embedded(settings.data_dir)
    try:
        writer = GraphWriter(backend)
        load(writer, population(people=40)[0], settings)
        yield writer
    finally:
        backend.close()


def test_why_explains_a_probabilistic_link_over_graphql(
    server: LiveServer, keys: dict[Role, str], settings: Settings
) -> None:
    with _server_graph(settings) as writer:
        assert gql(server, keys[Role.AGENT], WHY, a="crm/A1", b="crm/A2").json() == {
            "data": {"why": None}  # no model trained yet
        }
        _resolve(writer, settings)
        second_entries = writer.matching_rows([f"crm/B{p}" for p in range(40)])
        linked = next(r for r in second_entries if r.link and r.link.rule == "probabilistic")
        assert linked.link is not None
        partner, profile = linked.link.via_record, linked.profile_id
    assert partner is not None
    assert profile is not None
    answer = gql(server, keys[Role.AGENT], WHY, a=linked.key, b=partner).json()["data"]["why"]
    parts = {p["comparison"]: p for p in answer["parts"]}
    assert answer["probability"] >= settings.match_threshold
    assert parts["given_name"]["level"] == "exact"
    assert parts["email"]["level"] is None
    total = answer["priorWeight"] + sum(
        p["weight"] + p["tfAdjustment"] + p["genericAdjustment"] for p in answer["parts"]
    )
    assert answer["weight"] == pytest.approx(total)
    # A record against its own profile: the best other record of the profile.
    own = gql(server, keys[Role.AGENT], WHY, a=linked.key, b=profile).json()["data"]["why"]
    assert own["left"] == linked.key
    assert own["right"] != linked.key
    assert own["weight"] >= answer["weight"]
    unknown = gql(server, keys[Role.AGENT], WHY, a="crm/none", b=partner).json()
    assert unknown["data"]["why"] is None
    assert gql(server, None, WHY, a=linked.key, b=partner).status_code == 401


def test_records_arriving_later_are_linked_online_with_the_same_weights(
    falkor: GraphWriter, settings: Settings
) -> None:
    """Parity: what the online executor stores is what the batch executor scores."""
    records, truth = population(people=80)
    late = {f"crm/B{p}" for p in range(40, 80)} | {f"twitter/T{p}" for p in range(40, 80)}
    load(falkor, [r for r in records if f"{r['source']}/{r['source_id']}" not in late], settings)
    _resolve(falkor, settings)  # trains the model
    report = load(
        falkor, [r for r in records if f"{r['source']}/{r['source_id']}" in late], settings
    )
    assert report.probabilistic_links > 0
    online = falkor.match_edges(sorted(late))
    assert online
    model = MODELS.current(falkor)
    assert model is not None
    ends = {key for edge in online for key in (edge.left, edge.right)}
    rows = {row.key: row for row in falkor.matching_rows(sorted(ends))}
    feats = [record_features(rows[key]) for edge in online for key in (edge.left, edge.right)]
    batch = score_pairs(model, feats, [(i, i + 1) for i in range(0, len(feats), 2)])
    assert [round(e.weight, 9) for e in online] == [round(p.weight, 9) for p in batch]
    after = _profiles(falkor)
    assert all(truth[e.left] == truth[e.right] for e in online)
    assert all(after[e.left] == after[e.right] for e in online)
    # The batch executor, run now, keeps every link the online one made.
    _resolve(falkor, settings, force=True)
    final = _profiles(falkor)
    assert all(final[e.left] == final[e.right] for e in online)


@pytest.mark.parametrize("batch_size", [50, 1])  # 1: each record as it arrives
def test_a_record_linked_online_joins_the_profile_without_one_of_its_own(
    falkor: GraphWriter, settings: Settings, batch_size: int
) -> None:
    """No profile is minted for a record the model links as it arrives (it would
    be retired at once, a redirect left behind for every linked call)."""
    settings = settings.model_copy(update={"batch_size": batch_size})
    records, _ = population(people=60)
    load(falkor, records, settings)
    _resolve(falkor, settings)  # trains the model
    # Calls typed by agents: the customer's name and details, no identifier.
    calls = [
        {"source": "calls", "source_id": r["source_id"], "name": r["name"],
         "attributes": r["attributes"]}
        for r in records if r["source"] == "crm" and r["source_id"].startswith("A")
    ][:20]  # fmt: skip
    profiles_before = falkor.count_of("Profile")
    report = load(falkor, calls, settings)
    after = _profiles(falkor)
    linked = [
        c for c in calls if after[f"calls/{c['source_id']}"] == after[f"crm/{c['source_id']}"]
    ]
    assert len(linked) >= 0.8 * len(calls)
    assert report.probabilistic_links >= len(linked)
    assert (report.profiles_created, report.profiles_merged) == (len(calls) - len(linked), 0)
    assert falkor.count_of("Profile") == profiles_before + len(calls) - len(linked)


def test_an_arriving_record_is_matched_as_it_will_be_stored(
    falkor: GraphWriter, settings: Settings
) -> None:
    """A record matched as it arrives is compared through a row made in hand
    (not read back): it equals the row read from the graph once written."""
    load(falkor, [rec("web", "s1", ip="203.0.113.9"), rec("web", "s2", ip="198.51.100.7")],
         settings)  # fmt: skip
    falkor.set_generic({"ip:203.0.113.9": (True, 7)})  # a shared line, seven people on it
    arriving = {"source": "calls", "source_id": "c1", "name": "Ana Pérez",
                "observed_at": "2026-11-02T10:00:00+01:00", "attributes": {"city": "Rosario"},
                "identifiers": [{"type": "ip", "value": "203.0.113.9"},
                                {"type": "ip", "value": "198.51.100.7"},
                                {"type": "ip", "value": "192.0.2.1"}]}  # fmt: skip
    (line,) = iter_json_array_items([arriving], default_region=None)
    assert line.record is not None
    reads = falkor.batch_start(
        [], [line.record.key], identifier_keys=[i.key for i in line.record.identifiers]
    )
    start = reads.result(falkor.backend.read_many(*reads.statements))
    made = arriving_row(line.record, start.sharing)
    load(falkor, [arriving], settings)
    (stored,) = falkor.matching_rows([line.record.key])
    # In any order: features hold identifiers as sets.
    assert replace(made, identifiers=sorted(made.identifiers)) == replace(
        stored, profile_id=None, link=None, identifiers=sorted(stored.identifiers)
    )
    assert ("ip", "203.0.113.9", "weak", True, 7) in made.identifiers


DECIDE = """mutation($a: String!, $b: String!, $d: String!) {
  decide(a: $a, b: $b, decision: $d, reason: "checked the contracts") { action by } }"""


def test_not_the_same_survives_re_resolution_and_only_stewards_decide(
    server: LiveServer, keys: dict[Role, str], settings: Settings
) -> None:
    with _server_graph(settings) as writer:
        _resolve(writer, settings)
        edge = writer.match_edges([f"crm/B{p}" for p in range(40)])[0]
        assert _profiles(writer)[edge.left] == _profiles(writer)[edge.right]
        refused = gql(server, keys[Role.AGENT], DECIDE, a=edge.left, b=edge.right, d="different")
        assert "steward" in refused.json()["errors"][0]["message"]
        said = gql(server, keys[Role.STEWARD], DECIDE, a=edge.left, b=edge.right, d="different")
        assert said.json()["data"]["decide"]["action"] == "decide"
        _resolve(writer, settings, force=True)
        after = _profiles(writer)
        assert after[edge.left] != after[edge.right]
        assert not {edge.left, edge.right} <= {c.left for c in writer.review_candidates(1000)} | {
            c.right for c in writer.review_candidates(1000)}  # fmt: skip
        # A newer judgement supersedes (never deletes) the old one.
        gql(server, keys[Role.STEWARD], DECIDE, a=edge.right, b=edge.left, d="same")
        _resolve(writer, settings, force=True)
        assert _profiles(writer)[edge.left] == _profiles(writer)[edge.right]
    bad = gql(server, keys[Role.STEWARD], DECIDE, a="crm/none", b=edge.left, d="different")
    assert "no record" in bad.json()["errors"][0]["message"]


def _failing_run() -> None:
    with without_cycle_collection():
        assert not gc.isenabled()
        raise RuntimeError("a batch failed")


def test_what_is_alive_at_the_end_can_be_left_out_of_the_collector() -> None:
    """A command that ends the process freezes what it kept, so that turning
    the collector back on does not walk it all once more."""
    kept: list[list[int]] = [[] for _ in range(1000)]
    frozen = gc.get_freeze_count()
    try:
        with without_cycle_collection(freeze_after=True):
            kept += [[] for _ in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(kept)
    finally:
        gc.unfreeze()
    with without_cycle_collection():
        pass
    assert gc.get_freeze_count() == 0


def test_the_cycle_collector_is_back_after_a_failed_run() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="a batch failed"):
        _failing_run()
    assert gc.isenabled()
    gc.disable()
    try:
        with without_cycle_collection():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def _scored_population() -> tuple[list[Features], list[int], list[ScoredPair]]:
    """A population's features, deterministic clusters (each record alone)
    and scored candidate pairs (down to the review threshold)."""
    records, _ = population(people=120)
    feats = [record_features(arriving_row(parse_record(r), {})) for r in records]
    pairs = candidate_pairs(feats)
    model = train(feats, pairs, u_pairs=20_000)
    groups = list(range(len(feats)))
    return feats, groups, score_pairs(model, feats, pairs, Thresholds().review)


def test_decisions_made_in_two_processes_are_those_of_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feats, groups, scored = _scored_population()
    apart = {scored[0].left: {scored[0].right}, scored[0].right: {scored[0].left}}
    in_one = decide(feats, groups, scored, Thresholds(), apart)
    odd = batch._odd_components(groups, scored)
    assert 0 < odd.sum() < len(scored)  # both processes decide some
    assert len(in_one.links) > 10
    assert in_one.review
    monkeypatch.setattr(batch, "DECIDE_BESIDE_FROM", 1)
    forks = _counted_forks(monkeypatch)
    assert batch._decided(feats, groups, scored, Thresholds(), apart) == in_one
    assert len(forks) == 1


def test_decisions_the_copy_did_not_send_are_made_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    feats, groups, scored = _scored_population()
    in_one = decide(feats, groups, scored, Thresholds(), {})
    monkeypatch.setattr(batch, "DECIDE_BESIDE_FROM", 1)
    monkeypatch.setattr(batch, "_decisions_as_arrays", lambda *_: os._exit(3))
    assert batch._decided(feats, groups, scored, Thresholds(), {}) == in_one
    assert "(exit status 3); deciding those pairs here" in caplog.text


def test_pairs_of_one_component_are_decided_in_one_process() -> None:
    """Groups 0, 1 and 2 are joined (through 1), 3 and 4 too: two components."""
    pairs = [ScoredPair(0, 2, 1.0, 0.5), ScoredPair(4, 5, 1.0, 0.5), ScoredPair(2, 3, 1.0, 0.5)]
    odd = batch._odd_components([0, 0, 1, 2, 3, 4], pairs).tolist()
    assert odd == [False, True, False]  # named 0 and 3, their smallest groups


def test_a_long_chain_of_groups_is_one_component() -> None:
    """Groups joined one after the other, numbered at random: one component
    (each pair the same parity), found in a few rounds, not one per link."""
    rng = random.Random(5)
    numbers = rng.sample(range(60_000), 20_001)
    pairs = [ScoredPair(a, b, 1.0, 0.5) for a, b in itertools.pairwise(numbers)]
    apart = [ScoredPair(70_000, 70_001, 1.0, 0.5)]  # another component, named 70,000
    odd = batch._odd_components(list(range(70_002)), pairs + apart).tolist()
    assert len(set(odd[:-1])) == 1
    assert odd[:-1][0] == min(numbers) % 2
    assert odd[-1] is False


def test_group_numbers_need_not_start_at_zero() -> None:
    pairs = [ScoredPair(0, 1, 1.0, 0.5), ScoredPair(2, 3, 1.0, 0.5)]
    odd = batch._odd_components([-7, -7, 10**12, 5], pairs).tolist()
    assert odd == [False, True]  # -7, 5 and 10**12 are groups 0, 1 and 2
