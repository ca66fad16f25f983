"""Features sent between processes (`resolvers.batch.features_of`)."""

from __future__ import annotations

import pickle
from dataclasses import fields

from resolvers.features import Features, features


def test_features_pickle_to_equal_features() -> None:
    made = [
        features(
            "crm/1", "Carlos Francavilla", {"city": "Madrid", "birth_date": "1980-02-03"},
            [("email", "carlos.f@example.com"), ("twitter", "cfrancavilla"),
             ("national_id", "12345678Z")],
            {"email:carlos.f@example.com": 3},
        ),
        features("web/2", None, {}, [("ip", "203.0.113.7")]),
    ]  # fmt: skip
    back = pickle.loads(pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert back == made
    for mine, theirs in zip(made, back, strict=True):
        for field in fields(Features):  # every field, with its type
            assert type(getattr(theirs, field.name)) is type(getattr(mine, field.name))
