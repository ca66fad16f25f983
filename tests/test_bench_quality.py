"""The benchmark's reachable-recall bound (bench/quality.py), on a hand-made population."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from quality import reachable_recall


def _record(
    source: str, source_id: str, *idents: tuple[str, str], name: str = ""
) -> dict[str, object]:
    identifiers = [{"type": kind, "value": value} for kind, value in idents]
    return {"source": source, "source_id": source_id, "name": name, "identifiers": identifiers}


def test_anonymous_sessions_join_their_person_only_through_a_device_or_a_lease() -> None:
    ana = [
        _record("crm", "1", ("email", "ana@example.org"), name="Ana Díaz"),
        _record("web", "a1", ("account", "AR-1"), ("device", "d1"), ("ip", "10.0.0.1")),
        _record("web", "a2", ("device", "d1"), ("ip", "100.64.0.1")),  # its device logged in
        _record("web", "a3", ("device", "d2"), ("ip", "100.64.0.1")),  # nothing else: alone
        _record("web", "a4", ("device", "d3"), ("ip", "2001:db8::1")),  # an island of two
        _record("web", "a5", ("device", "d3"), ("ip", "2001:db8::2")),
    ]
    bruno = [
        _record("crm", "2", ("account", "AR-2"), name="Bruno Paz"),
        _record("web", "b1", ("device", "d9"), ("ip", "181.0.0.9")),  # the lease names its line
        _record("isp_lease", "l1", ("account", "AR-2"), ("ip", "181.0.0.9")),
    ]
    truth = {f"{r['source']}/{r['source_id']}": "ana" for r in ana}
    truth |= {f"{r['source']}/{r['source_id']}": "bruno" for r in bruno}
    # Ana: 15 true pairs, of which {crm, a1, a2} make 3 and {a4, a5} 1; Bruno: 3 of 3.
    assert reachable_recall(ana + bruno, truth) == (3 + 1 + 3) / (15 + 3)
    assert reachable_recall(bruno, truth) == 1.0
