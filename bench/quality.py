"""Pairwise precision and recall of a clustering against the ground truth."""

from __future__ import annotations

from collections import Counter


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
