"""A picture of a profile's identity graph, as inline SVG (no script, no
download): the profile in the middle, its records around it, their identifiers
on an outer ring next to the records that carry them.

Lines say why records are together: a record and an identifier it carries
(solid when the identifier links, dotted for weak ones like IPs, red and
dashed when the value is generic and links nobody); a curved line between two
records for a link the match model made (with its probability) or a steward's
judgement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from directory.profiles import describe_link
from graph.model import StoredProfile, StoredRecord
from resolvers.deterministic import RULE_LEASE, RULE_MATCHED, RULE_STEWARD

MAX_RECORDS = 40  # a bigger profile is drawn with its newest records
_SIZE = 760
_CENTRE = _SIZE / 2
_RECORD_RING = 175.0
_IDENTIFIER_RING = 320.0
_LINKING = {"strong", "medium"}
_MARGIN = 170  # room for labels beside the outer ring


@dataclass(frozen=True)
class _Point:
    x: float
    y: float


def _on_ring(angle: float, radius: float) -> _Point:
    return _Point(_CENTRE + radius * math.cos(angle), _CENTRE + radius * math.sin(angle))


def identity_graph_svg(profile: StoredProfile, probabilities: dict[str, float]) -> str:
    """The SVG of a profile's identity graph. `probabilities`: of each record
    the match model linked, the probability of that link (by record key)."""
    records = sorted(profile.records, key=lambda r: (r.observed_at or "", r.key))[-MAX_RECORDS:]
    step = 2 * math.pi / max(len(records), 1)
    at = {r.key: _on_ring(-math.pi / 2 + i * step, _RECORD_RING) for i, r in enumerate(records)}
    angles = {r.key: -math.pi / 2 + i * step for i, r in enumerate(records)}
    carriers: dict[tuple[str, str], list[str]] = {}
    strength: dict[tuple[str, str], tuple[str, bool]] = {}
    for record in records:
        for ident in record.identifiers:
            carriers.setdefault((ident.type, ident.value), []).append(record.key)
            strength[(ident.type, ident.value)] = (ident.strength, bool(ident.generic))
    lines: list[str] = []
    nodes: list[str] = []
    slots = _spread([_mean_angle(keys, angles) for keys in carriers.values()])
    for (value_key, keys), angle in zip(carriers.items(), slots, strict=True):
        spot = _on_ring(angle, _IDENTIFIER_RING)
        kind, generic = strength[value_key]
        style = "generic" if generic else ("links" if kind in _LINKING else "weak")
        for key in keys:
            lines.append(_line(at[key], spot, f"has {style}"))
        label = f"{value_key[0]}: {value_key[1]}"
        title = label + (" (generic: shared by many people, links nobody)" if generic else "")
        nodes.append(_node(spot, _short(label, 34), f"identifier {style}", title, radius=6))
    for record in records:
        lines.extend(_record_link(record, at, probabilities))
    centre = _Point(_CENTRE, _CENTRE)
    for record in records:
        lines.append(_line(centre, at[record.key], "in"))
        title = f"{record.key}: {record.name or 'no name'} ({describe_link(record.link)})"
        label = f"{record.source}: {_short(record.name or record.source_id, 18)}"
        nodes.append(_node(at[record.key], label, f"record {record.link.rule}", title, radius=9))
    nodes.append(_node(centre, _short(profile.display_name or profile.id, 24), "profile",
                       f"profile {profile.id}", radius=16))  # fmt: skip
    hidden = len(profile.records) - len(records)
    note = (
        f'<text class="note" x="10" y="{_SIZE - 10}">+{hidden} older records not drawn</text>'
        if hidden > 0
        else ""
    )
    box = f"{-_MARGIN} 0 {_SIZE + 2 * _MARGIN} {_SIZE}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box}" '
        f'role="img" aria-labelledby="graph-title" class="identity-graph">'
        f'<title id="graph-title">Identity graph of {escape(profile.display_name or profile.id)}: '
        f"{len(profile.records)} records, {len(carriers)} identifiers</title>"
        f"{''.join(lines)}{''.join(nodes)}{note}</svg>"
    )


def _spread(wanted: list[float]) -> list[float]:
    """Angles for the identifiers: evenly spaced (labels never pile up), in the
    order of the directions they want, turned to sit nearest to them."""
    if not wanted:
        return []
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    step = 2 * math.pi / len(wanted)
    offsets = [wanted[i] - rank * step for rank, i in enumerate(order)]
    turn = math.atan2(sum(math.sin(o) for o in offsets), sum(math.cos(o) for o in offsets))
    placed = [0.0] * len(wanted)
    for rank, i in enumerate(order):
        placed[i] = turn + rank * step
    return placed


def _mean_angle(keys: list[str], angles: dict[str, float]) -> float:
    """The direction of the records carrying a value (circular mean)."""
    x = sum(math.cos(angles[k]) for k in keys)
    y = sum(math.sin(angles[k]) for k in keys)
    return math.atan2(y, x) if (x or y) else angles[keys[0]]


def _record_link(
    record: StoredRecord, at: dict[str, _Point], probabilities: dict[str, float]
) -> list[str]:
    """A curve to the record that the match model, a steward or an IP lease linked it to."""
    link = record.link
    if link.rule not in (RULE_MATCHED, RULE_STEWARD, RULE_LEASE) or link.via_record not in at:
        return []
    a, b = at[record.key], at[link.via_record]
    bend = _Point((a.x + b.x) / 2 * 0.7 + _CENTRE * 0.3, (a.y + b.y) / 2 * 0.7 + _CENTRE * 0.3)
    if link.rule == RULE_MATCHED:
        probability = probabilities.get(record.key)
        text = f"match {probability:.3f}" if probability is not None else "match"
    elif link.rule == RULE_LEASE:
        text = "IP lease"
    else:
        text = "steward: same"
    return [
        f'<path class="link {link.rule}" d="M{a.x:.1f},{a.y:.1f} Q{bend.x:.1f},{bend.y:.1f} '
        f'{b.x:.1f},{b.y:.1f}"><title>{escape(text)}</title></path>',
        f'<text class="link-label" x="{bend.x:.1f}" y="{bend.y:.1f}">{escape(text)}</text>',
    ]


def _line(a: _Point, b: _Point, css: str) -> str:
    return f'<line class="{css}" x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}"/>'


def _node(at: _Point, label: str, css: str, title: str, *, radius: float) -> str:
    anchor = "start" if at.x >= _CENTRE else "end"
    dx = radius + 4 if anchor == "start" else -(radius + 4)
    if abs(at.x - _CENTRE) < 1:
        anchor, dx = "middle", 0.0
    dy = radius + 14 if anchor == "middle" else 4
    return (
        f'<g class="node {css}"><title>{escape(title)}</title>'
        f'<circle cx="{at.x:.1f}" cy="{at.y:.1f}" r="{radius}"/>'
        f'<text x="{at.x + dx:.1f}" y="{at.y + dy:.1f}" text-anchor="{anchor}">'
        f"{escape(label)}</text></g>"
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
