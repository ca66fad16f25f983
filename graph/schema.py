"""Constraints and indexes of the identity graph, stated once for every engine.

Labels:
- `Record {key, source, source_id, ...}`: one per source record; key = "source/source_id".
- `Identifier {key, type, value, strength, generic, people}`: shared by the records carrying it.
- `Profile {id, kind, display_name, ...}`: one per resolved person; a merged-away
  profile stays as a redirect with `merged_into` set, so old ids keep resolving.
- `ApiKey {hash, role, ...}` and `Lock {name, owner, until}`: service bookkeeping
  (FalkorDB keeps its locks as keys beside the graph instead).
- `MatchModel {version, body, trained_at}`: each trained match model (JSON body);
  `Setting {name, value}`: which model is current, when records last changed,
  when resolution last ran.

Edges, each with its provenance:
- `(Record)-[:HAS {first_seen, last_seen, seen_at}]->(Identifier)`;
- `(Record)-[:IN {rule, via, via_record, linked_at}]->(Profile)`: why the record
  is in the profile (the rule, the identifier it shares, the record it shares it with).
- `(Record)-[:MATCHED {weight, probability, model, at}]->(Record)`: a
  probabilistic link the batch resolver made; deterministic re-clustering keeps it.
- `(Record)-[:REVIEW {weight, probability, reason, model, at, priority, status}]->(Record)`:
  a review candidate for the stewards, ranked by `priority`; `status` is set
  when a judgement decides it.
- `(Record)-[:JUDGED {id, decision, by, reason, score, at, superseded_at}]->(Record)`:
  a steward's judgement (same, different, unsure, retracted), append-only: a
  newer one marks the older `superseded_at`, and the one in force is replayed by
  every resolution.
- `(Event {id, action, by, at, summary, profiles, detail, undone_by})-[:ABOUT]->(Profile)`:
  the audit trail of steward actions, with the state before and after in `detail`.
- `(Record)-[:EVIDENCES {weight, declared}]->(Skill {name})` and
  `(Profile)-[:KNOWS {score, inferred, evidence, declared, last_seen}]->(Skill)`:
  what a record says its author knows, and what an employee knows in all
  (`graph/expertise.py`).
"""

from __future__ import annotations

from graph.backend import GraphBackend, SchemaSpec

SCHEMA = SchemaSpec(
    unique=[("Record", "key"), ("Identifier", "key"), ("Profile", "id"), ("ApiKey", "hash"),
            ("Lock", "name"), ("MatchModel", "version"), ("Setting", "name"),
            ("Event", "id"), ("Skill", "name")],
    indexes=[],
    fulltext=[("Record", "search_name")],  # the folded name: accents, case ignored
)  # fmt: skip


def ensure_schema(backend: GraphBackend, *, in_background: bool = False) -> None:
    """Create every constraint and index that is missing; safe to run at each
    start. `in_background`: return while the engine builds them; this backend's
    next query waits for them (not other connections')."""
    backend.ensure_schema(SCHEMA, in_background=in_background)
