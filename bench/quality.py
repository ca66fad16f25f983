"""Pairwise precision and recall of a clustering against the ground truth, and the
recall reachable without linking on IP addresses alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(predicted: dict[str, str], truth: dict[str, str]) -> dict[str, float | int]:
    """Precision, recall, F1 over record pairs, and the number of false merges
    (predicted profiles that hold records of more than one true person)."""
    keys = predicted.keys() & truth.keys()
    both = Counter((predicted[k], truth[k]) for k in keys)
    true_positive = sum(_pairs(n) for n in both.values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted[k] for k in keys).values())
    true_pairs = sum(_pairs(n) for n in Counter(truth[k] for k in keys).values())
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    people_per_profile = Counter(profile for profile, _ in both)
    return {
        "pairwise_precision": round(precision, 5),
        "pairwise_recall": round(recall, 5),
        "pairwise_f1": round(f1, 5),
        "false_merges": sum(1 for n in people_per_profile.values() if n > 1),
        "records_scored": len(keys),
    }


def bcubed(predicted: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """B-cubed precision and recall: per record, the share of its predicted
    profile that is its true person, and of its true person in its profile."""
    keys = predicted.keys() & truth.keys()
    both = Counter((predicted[k], truth[k]) for k in keys)
    profile_size = Counter(predicted[k] for k in keys)
    person_size = Counter(truth[k] for k in keys)
    precision = sum(both[(predicted[k], truth[k])] / profile_size[predicted[k]] for k in keys)
    recall = sum(both[(predicted[k], truth[k])] / person_size[truth[k]] for k in keys)
    n = len(keys) or 1
    return {"bcubed_precision": round(precision / n, 5), "bcubed_recall": round(recall / n, 5)}


# Sources whose IP addresses resolve deterministically (issue 3: an ISP's lease log).
_AUTHORITATIVE_FOR_IPS = frozenset({"isp_lease"})


def reachable_recall(records: Iterable[Mapping[str, Any]], truth: Mapping[str, str]) -> float:
    """The pairwise recall of a resolver that links every record it has evidence
    for, and none on an IP address alone. An anonymous record (no name, no
    attributes, nothing but IP addresses and device ids, none of its addresses
    in an authoritative source such as a lease log) joins the rest of its person
    only through a device id that one of the person's other records carries;
    anonymous records sharing a device id only with each other stay a group of
    their own. Elsewhere an IP is weak evidence only (a carrier NAT address, a
    one-off IPv6 address, a household's line). An upper bound: a leased
    address counts whatever the time, and whoever holds the line."""
    keyed = {key: r for r in records if (key := f"{r['source']}/{r['source_id']}") in truth}
    leased = {
        i["value"]
        for r in keyed.values()
        if r["source"] in _AUTHORITATIVE_FOR_IPS
        for i in r.get("identifiers", ())
        if i["type"] == "ip"
    }
    anonymous = {key for key, r in keyed.items() if _anonymous(r, leased)}
    # Each record's group within its person: the person's body, or an island of
    # anonymous records joined by their device ids.
    parent = {key: key for key in keyed}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_with: dict[tuple[str, str], str] = {}
    for key, r in keyed.items():
        person = truth[key]
        joins = [("body", "")] if key not in anonymous else []
        joins += [("device", i["value"]) for i in r.get("identifiers", ()) if i["type"] == "device"]
        for kind, value in joins:
            other = first_with.setdefault((person, f"{kind}:{value}"), key)
            parent[root(key)] = root(other)
    groups = Counter(root(key) for key in keyed)
    true_pairs = sum(_pairs(n) for n in Counter(truth[key] for key in keyed).values())
    return sum(_pairs(n) for n in groups.values()) / true_pairs if true_pairs else 1.0


def _anonymous(record: Mapping[str, Any], leased: set[str]) -> bool:
    idents = record.get("identifiers", ())
    return (
        not record.get("name")
        and not any((record.get("attributes") or {}).values())
        and all(i["type"] in ("ip", "device") for i in idents)
        and not any(i["type"] == "ip" and i["value"] in leased for i in idents)
    )
