"""Every query the service runs must start from an index, never from a scan of
a whole label: a scan is harmless on test data and minutes long on a million
records. FalkorDB's planner is checked here (EXPLAIN on the real engine)."""

from __future__ import annotations

from collections.abc import Sequence

from directory import experts, profiles, stewardship
from directory.auth import Role
from directory.settings import Settings
from graph.backend import Row, Statement
from graph.falkordb_backend import FalkorDBBackend
from graph.store import GraphWriter
from resolvers.batch import resolve_all
from tests.helpers import load, profile_of, rec

# Whole-graph reads by nature: paging through every record, counting.
SCANS_EXPECTED = {"record_assignments", "count_Record", "count_Identifier", "count_profiles",
                  # the batch resolver reads and replaces every record and match edge
                  "record_id_span", "drop_matches", "drop_reviews", "review_candidates",
                  "current_judgements", "review_priority", "review_judged", "all_leases",
                  # the stewards' queue and global history rank every candidate / event
                  "review_queue", "events", "all_judgements",
                  # the batch refreshes every employee's skills; the skill vocabulary is small
                  "profiles_with_evidence", "skill_names"}  # fmt: skip


class ExplainingBackend(FalkorDBBackend):
    """Runs every statement as usual and keeps the plan of each."""

    plans: dict[str, list[str]]

    def _read(self, statement: Statement) -> list[Row]:
        self.plans[statement.name] = self.explain(statement)
        return super()._read(statement)

    def _write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        for statement in statements:
            self.plans[statement.name] = self.explain(statement)
        return super()._write(statements)


def test_no_query_scans_a_whole_label(falkor: GraphWriter, settings: Settings) -> None:
    plain = falkor.backend
    assert isinstance(plain, FalkorDBBackend)
    # The same graph, through a connection that explains what it runs.
    backend = ExplainingBackend(graph_name=plain._graph_name, unix_socket=plain._address[2])
    backend.plans = {}
    writer = GraphWriter(backend)
    load(writer, [rec("crm", "1", "Ana Pérez", email="a@x.org"),
                  rec("web", "2", "Ana", email="a@x.org", ip="1.2.3.4")], settings)  # fmt: skip
    load(writer, [rec("web", "2", "Ana", device="d-1")], settings)  # split
    load(writer, [rec("web", "3", "Ana", email="a@x.org", device="d-1")], settings)  # merge
    for name in ("Luis Gómez", "Marie Dubois", "John Smith"):
        load(writer, [rec("crm", name, name, phone="+34 612 000 000")], settings)  # generic
    pid = profile_of(writer, "crm", "1")
    profiles.get_profile(writer, profile_id=pid)
    profiles.lookup(writer, type_="email", value="a@x.org", region=None)
    profiles.search(writer, name="ana", first=5)
    writer.counts()
    writer.record_assignments("", 10)
    resolve_all(writer, thresholds=settings.thresholds, source_rank=settings.source_rank)
    load(writer, [rec("crm", "4", "Ana María Pérez", email="ana.m@x.org")], settings)
    resolve_all(writer, thresholds=settings.thresholds, source_rank=settings.source_rank)
    writer.review_candidates(5)
    _steward_actions(writer, settings)
    backend.close()
    scans = {
        name: plan
        for name, plan in backend.plans.items()
        if name not in SCANS_EXPECTED and any("Label Scan" in line for line in plan)
    }
    assert not scans, "\n\n".join(f"{n}:\n" + "\n".join(p) for n, p in scans.items())
    assert len(backend.plans) >= 30


def _steward_actions(writer: GraphWriter, settings: Settings) -> None:
    """Every query of the stewards' actions runs once."""
    load(writer, [rec("crm", "5", "Bea Ruiz", email="bea@x.org"),
                  rec("web", "6", "Bea", email="bea@x.org")], settings)  # fmt: skip
    pid, other = profile_of(writer, "crm", "5"), profile_of(writer, "crm", "4")
    merged = stewardship.merge(writer, settings, profile_ids=[pid, other], survivor=pid, by="t")
    stewardship.undo(writer, settings, event_id=merged.id, by="t")
    stewardship.split(writer, settings, profile_id=pid, records=["web/6"], by="t")
    stewardship.decide(writer, settings, left="crm/5", right="web/6", decision="unsure", by="t")
    stewardship.override(writer, settings, profile_id=pid, attribute="name", value="B", by="t")
    stewardship.review_queue(writer, first=5)
    stewardship.history(writer, profile_id=pid)
    stewardship.history(writer)
    list(stewardship.export_judgements(writer))
    employee = rec("wiki", "7", "Eva Paz", employee_id="E7") | {"kind": "employee", "text": "IPv6"}
    load(writer, [employee, employee | {"text": "DNS"}], settings)  # an update drops evidence
    experts.search(writer, query="ipv6 dns", role=Role.AGENT)
