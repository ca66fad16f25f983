"""IP sightings from a source authoritative for IPs (an ISP's lease log) resolve
deterministically within their window; anywhere else an IP stays weak evidence."""

from __future__ import annotations

from typing import Any

from directory.settings import Settings
from graph.store import GraphWriter
from resolvers.batch import resolve_all
from resolvers.deterministic import RULE_LEASE
from tests.helpers import load, profile_of


def _seen(source: str, source_id: str, ip: str, at: str, name: str | None = None,
          **identifiers: str) -> dict[str, Any]:  # fmt: skip
    sighting = {"type": "ip", "value": ip, "seen_at": at}
    others = [{"type": t, "value": v} for t, v in identifiers.items()]
    record: dict[str, Any] = {"source": source, "source_id": source_id,
                              "identifiers": [sighting, *others]}  # fmt: skip
    if name:
        record["name"] = name
    return record


CUSTOMER = {"source": "crm", "source_id": "C-1", "name": "Carlos Francavilla",
            "identifiers": [{"type": "account", "value": "AR-0099812"}]}  # fmt: skip
LEASE = _seen("isp_lease", "L-1", "181.2.3.4", "2026-02-27T06:00:00Z", account="AR0099812")


def _link(writer: GraphWriter, key: str) -> tuple[str, str | None]:
    link = writer.record_state([key])[key].link
    assert link is not None
    return link.rule, link.via


TWEET = _seen("twitter", "T-1", "181.2.3.4", "2026-02-27T09:00:00Z", "Carlos F.",
              twitter="@cfrancavilla")  # fmt: skip


def test_a_tweet_from_a_leased_ip_joins_the_account_holder(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [CUSTOMER, LEASE], settings)
    load(falkor, [TWEET], settings)
    assert profile_of(falkor, "twitter", "T-1") == profile_of(falkor, "crm", "C-1")
    assert _link(falkor, "twitter/T-1") == (RULE_LEASE, "account:AR0099812")


def test_a_lease_arriving_after_the_tweet_still_claims_it(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [CUSTOMER, TWEET], settings)
    assert profile_of(falkor, "twitter", "T-1") != profile_of(falkor, "crm", "C-1")
    load(falkor, [LEASE], settings)
    assert profile_of(falkor, "twitter", "T-1") == profile_of(falkor, "crm", "C-1")
    assert falkor.counts()["profiles"] == 1


def test_outside_the_window_or_from_other_sources_an_ip_does_not_link(
    falkor: GraphWriter, settings: Settings
) -> None:
    late = _seen("web", "S-1", "181.2.3.4", "2026-03-01T09:00:00Z", device="dev-1")
    login = _seen("web", "S-2", "181.2.3.5", "2026-02-27T06:00:00Z", account="AR0099812")
    near_login = _seen("web", "S-3", "181.2.3.5", "2026-02-27T07:00:00Z", device="dev-3")
    load(falkor, [CUSTOMER, LEASE, late, login, near_login], settings)
    customer = profile_of(falkor, "crm", "C-1")
    assert profile_of(falkor, "web", "S-1") != customer  # 51 hours after the lease
    assert profile_of(falkor, "web", "S-2") == customer  # it carries the account itself
    assert profile_of(falkor, "web", "S-3") != customer  # web is not authoritative here
    settings.ip_authoritative_sources = ["isp_lease", "web"]
    load(falkor, [login, near_login], settings)  # now a login log counts, once re-ingested
    assert profile_of(falkor, "web", "S-3") == customer


def test_an_ip_two_accounts_used_in_the_window_links_nobody(
    falkor: GraphWriter, settings: Settings
) -> None:
    other = {"source": "crm", "source_id": "C-2", "name": "Ana Gómez",
             "identifiers": [{"type": "account", "value": "AR-0000007"}]}  # fmt: skip
    nat = _seen("isp_lease", "L-2", "181.2.3.4", "2026-02-27T08:00:00Z", account="AR0000007")
    session = _seen("web", "S-1", "181.2.3.4", "2026-02-27T09:00:00Z", device="dev-1")
    load(falkor, [CUSTOMER, other, LEASE, nat, session], settings)
    assert profile_of(falkor, "web", "S-1") not in {
        profile_of(falkor, "crm", "C-1"), profile_of(falkor, "crm", "C-2")
    }  # fmt: skip


def test_a_household_member_on_the_holders_connection_stays_apart(
    falkor: GraphWriter, settings: Settings
) -> None:
    spouse_tweet = _seen("twitter", "T-2", "181.2.3.4", "2026-02-27T10:00:00Z", "María López",
                         twitter="@marialopez")  # fmt: skip
    spouse_device = _seen("web", "S-9", "181.2.3.4", "2026-02-27T11:00:00Z", device="dev-9")
    spouse_login = {"source": "web", "source_id": "S-10",
                    "identifiers": [{"type": "device", "value": "dev-9"},
                                    {"type": "account", "value": "AR-0000008"}]}  # fmt: skip
    load(falkor, [CUSTOMER, LEASE, spouse_tweet, spouse_device], settings)
    customer = profile_of(falkor, "crm", "C-1")
    assert profile_of(falkor, "twitter", "T-2") != customer  # another person's name
    assert profile_of(falkor, "web", "S-9") == customer  # nothing says otherwise, yet
    load(falkor, [spouse_login], settings)  # the device logs in to another account
    assert profile_of(falkor, "web", "S-9") == profile_of(falkor, "web", "S-10") != customer
    assert profile_of(falkor, "crm", "C-1") == customer


def test_batch_resolution_keeps_the_lease_links(falkor: GraphWriter, settings: Settings) -> None:
    load(falkor, [CUSTOMER, LEASE, TWEET], settings)
    resolve_all(falkor, thresholds=settings.thresholds, source_rank=settings.source_rank,
                force=True)  # fmt: skip
    assert profile_of(falkor, "twitter", "T-1") == profile_of(falkor, "crm", "C-1")
    assert _link(falkor, "twitter/T-1")[0] == RULE_LEASE
