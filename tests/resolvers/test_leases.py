"""The lease rule alone: which sightings an authoritative one attributes."""

from __future__ import annotations

from datetime import timedelta

from graph.model import IpSighting
from resolvers.leases import attribute

DAY = timedelta(hours=24)


def _at(record: str, hour: int, *, lease: bool = False, account: str = "",
        ip: str = "ip:181.2.3.4") -> IpSighting:  # fmt: skip
    seen_at = f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"
    return IpSighting(record, ip, seen_at, lease, (account,) if account else ())


def test_a_sighting_within_the_window_of_a_lease_is_attributed_to_its_account() -> None:
    found = attribute([_at("lease", 0, lease=True, account="account:A"), _at("tweet", 23),
                       _at("late", 25)], DAY)  # fmt: skip
    assert {key: edge.account for key, edge in found.items()} == {"tweet": "account:A"}
    assert (found["tweet"].lease_record, found["tweet"].ip) == ("lease", "ip:181.2.3.4")


def test_a_second_account_in_the_window_from_any_source_stops_it() -> None:
    login = _at("login", 3, account="account:B")  # not authoritative, still an account
    found = attribute([_at("lease", 0, lease=True, account="account:A"), login,
                       _at("tweet", 2)], DAY)  # fmt: skip
    assert found == {}


def test_records_with_their_own_account_or_two_leaseholders_are_not_attributed() -> None:
    found = attribute([_at("lease", 0, lease=True, account="account:A"),
                       _at("own", 1, account="account:A"),
                       _at("lease2", 0, lease=True, account="account:B", ip="ip:10.0.0.1"),
                       _at("two", 1), _at("two", 1, ip="ip:10.0.0.1")], DAY)  # fmt: skip
    assert found == {}  # "two" was seen on A's IP and on B's at once


def test_a_non_authoritative_sighting_with_an_account_leases_nothing() -> None:
    assert attribute([_at("login", 0, account="account:A"), _at("tweet", 1)], DAY) == {}
