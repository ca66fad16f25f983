"""One validated settings object, read from `DIRECTORY_*` environment variables.

Built by `get_settings()` (cached) so tests pass their own `Settings` instead of
touching the environment; nothing is built at import time.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from resolvers.probabilistic import Thresholds

DEFAULT_SOURCE_PRIORITY = [
    "hr", "crm", "billing", "helpdesk", "calls", "linkedin", "facebook", "twitter", "web",
]  # fmt: skip


class Settings(BaseSettings):
    """Everything the service and the CLI can be told."""

    model_config = SettingsConfigDict(env_prefix="DIRECTORY_", extra="ignore")

    graph_url: str | None = Field(
        default=None,
        description="falkordb://host:port, neo4j://host:port or bolt://…; unset: embedded",
    )
    data_dir: Path = Field(default=Path("data"), description="where the embedded graph lives")
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str | None = None
    default_region: str | None = Field(
        default=None, description="ISO country for national phone numbers without a country"
    )
    generic_threshold: int = Field(
        default=1,
        ge=1,
        description="a value carried by more than this many different people stops linking",
    )
    source_priority: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SOURCE_PRIORITY),
        description="display-name survivorship: earlier sources win, then the newest record",
    )
    batch_size: int = Field(default=2500, ge=1, le=50_000)
    match_threshold: float = Field(
        default=0.999,
        gt=0.0,
        lt=1.0,
        description="match probability at or above which records link automatically",
    )
    evidence_match_threshold: float = Field(
        default=0.99,
        gt=0.0,
        lt=1.0,
        description="the same for records that also agree on a birth date, personal id, "
        "address, email or phone (names alone need the match threshold)",
    )
    review_threshold: float = Field(
        default=0.9,
        gt=0.0,
        lt=1.0,
        description="match probability from which a pair goes to the stewards' review",
    )

    online_matching: bool = Field(
        default=True,
        description="link each ingested record with the match model (once one is trained)",
    )
    blocking_conflicts: int = Field(
        default=2,
        ge=1,
        description="conflicting facts (birth date, personal id, given name) that always "
        "keep two records apart; fewer only raise the bar (100x per fact)",
    )
    ip_authoritative_sources: list[str] = Field(
        default_factory=lambda: ["isp_lease"],
        description="sources that say which account held an IP when (an ISP's lease log, "
        "a login log): a record seen on that IP near such a sighting joins the account",
    )
    ip_window_hours: float = Field(
        default=24.0,
        gt=0,
        description="how near in time an IP sighting must be to another to count with it",
    )
    field_roles: dict[str, str] = Field(
        default_factory=lambda: {"phone": "steward"},
        description="profile fields (department, title, location, email, phone, handles) "
        "that expert search shows only to this role or a higher one",
    )

    @property
    def thresholds(self) -> Thresholds:
        """The match thresholds (checked: review <= match)."""
        return Thresholds(
            match=self.match_threshold, review=self.review_threshold,
            blocking_conflicts=self.blocking_conflicts,
            # kept between the other two, which a deployment may have moved
            evidence_match=min(max(self.evidence_match_threshold, self.review_threshold),
                               self.match_threshold),
        )  # fmt: skip

    @property
    def ip_window(self) -> timedelta:
        return timedelta(hours=self.ip_window_hours)

    def source_rank(self, source: str) -> int:
        """Lower is more trusted; unknown sources rank last."""
        try:
            return self.source_priority.index(source)
        except ValueError:
            return len(self.source_priority)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
