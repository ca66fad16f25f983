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
    stored = reader.setting(SOURCE_PRIORITY)
    return list(json.loads(stored)) if stored else list(settings.source_priority)


def source_rank(reader: GraphReader, settings: Settings) -> Callable[[str], int]:
    """A source's place in that order (unlisted sources come last)."""
    order = {source: place for place, source in enumerate(source_order(reader, settings))}
    return lambda source: order.get(source, len(order))
