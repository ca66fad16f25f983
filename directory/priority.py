"""Which source's value wins (the display name, each golden-record attribute):
the order the stewards set, stored in the graph, else DIRECTORY_SOURCE_PRIORITY."""

from __future__ import annotations

import json
from collections.abc import Callable

from directory.settings import Settings
from graph.reader import GraphReader

SOURCE_PRIORITY = "source_priority"  # the graph setting: a JSON list, first wins


def source_order(reader: GraphReader, settings: Settings) -> list[str]:
    """The sources, most trusted first."""
    return stored_order(reader.setting(SOURCE_PRIORITY), settings)


def stored_order(stored: str | None, settings: Settings) -> list[str]:
    """The order from the stored setting's value, else from the settings."""
    return list(json.loads(stored)) if stored else list(settings.source_priority)


def source_rank(reader: GraphReader, settings: Settings) -> Callable[[str], int]:
    """A source's place in that order (unlisted sources come last)."""
    return rank_in(source_order(reader, settings))


def rank_in(order: list[str]) -> Callable[[str], int]:
    """A source's place in `order` (unlisted sources come last)."""
    places = {source: place for place, source in enumerate(order)}
    return lambda source: places.get(source, len(places))
