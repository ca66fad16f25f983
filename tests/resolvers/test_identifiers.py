"""Identifier normalisation: one table of accepted spellings, one of rejections."""

from __future__ import annotations

import pickle

import pytest

from resolvers.identifiers import (
    KNOWN_TYPES,
    SOCIAL_NETWORKS,
    IdentifierError,
    canonical_type,
    normalise,
    strength,
)
from resolvers.model import Strength

# (type, value, region, canonical value)
VALID: list[tuple[str, str, str | None, str]] = [
    # email: Gmail ignores dots and '+tag', googlemail.com is gmail.com
    ("email", "Carlos.F@gmail.com", None, "carlosf@gmail.com"),
    ("email", " carlos.f+news@GMAIL.COM ", None, "carlosf@gmail.com"),
    ("email", "Carlos.F+x@GoogleMail.com", None, "carlosf@gmail.com"),
    # other providers keep dots; plus-addressing providers drop the tag
    ("email", "Carlos.F@Example.COM", None, "carlos.f@example.com"),
    ("email", "carlos.f+tag@example.com", None, "carlos.f+tag@example.com"),
    ("email", "C.F+shop@Outlook.com", None, "c.f@outlook.com"),
    ("email", "c.f+shop@hotmail.com", None, "c.f@hotmail.com"),
    ("email", "c.f+shop@live.com", None, "c.f@live.com"),
    ("email", "c.f+shop@icloud.com", None, "c.f@icloud.com"),
    ("email", "c.f+shop@me.com", None, "c.f@me.com"),
    ("email", "c.f+shop@mac.com", None, "c.f@mac.com"),
    ("email", "c.f+shop@protonmail.com", None, "c.f@protonmail.com"),
    ("email", "c.f+shop@proton.me", None, "c.f@proton.me"),
    ("email", "c.f+shop@fastmail.com", None, "c.f@fastmail.com"),
    # Yahoo's '-keyword' addresses are separate mailboxes: kept as given
    ("email", "Carlos.F-shop@Yahoo.com", None, "carlos.f-shop@yahoo.com"),
    ("email", "mailto:Ana@Example.org", None, "ana@example.org"),
    ("email", "josé@correo.es", None, "josé@correo.es"),
    ("mail", "ana@example.org", None, "ana@example.org"),
    ("E-Mail", "ana@example.org", None, "ana@example.org"),
    # phone: E.164; national numbers read in the region
    ("phone", "+54 11 4555-1234", None, "+541145551234"),
    ("phone", "+54 9 11 4555-1234", None, "+5491145551234"),
    ("phone", "011 15 4555-1234", "AR", "+5491145551234"),
    ("phone", "612 34 56 78", "ES", "+34612345678"),
    ("phone", "612345678", "es", "+34612345678"),
    ("phone", "06 12 34 56 78", "FR", "+33612345678"),
    ("phone", "0054 11 4555 1234", None, "+541145551234"),
    ("phone", "0034 612-34-56-78", "FR", "+34612345678"),
    ("phone", "tel:+1-201-555-0123", None, "+12015550123"),
    ("phone", "(201) 555.0123", "US", "+12015550123"),
    ("phone", "+34 612 34 56 78", "FR", "+34612345678"),
    ("mobile", "+34 612 34 56 78", None, "+34612345678"),
    ("tel", "+34-612-34-56-78", None, "+34612345678"),
    # account and national_id: upper-cased, separators removed
    ("account", "AR-0099812", None, "AR0099812"),
    ("account", " ar 009/98.12 ", None, "AR0099812"),
    ("account", "ar\u20130099812", None, "AR0099812"),
    ("national_id", "12.345.678-z", None, "12345678Z"),
    ("national_id", "123-45-6789", None, "123456789"),
    # as given, trimmed
    ("employee_id", " E-042 ", None, "E-042"),
    ("device", " Ab:Cd-42 ", None, "Ab:Cd-42"),
    ("loyalty_card", " 0042-x ", None, "0042-x"),
    # twitter
    ("twitter", "@CFrancavilla", None, "cfrancavilla"),
    ("twitter", "cfrancavilla", None, "cfrancavilla"),
    ("twitter", "https://x.com/CFrancavilla", None, "cfrancavilla"),
    ("twitter", "x.com/cfrancavilla/", None, "cfrancavilla"),
    ("twitter", "https://twitter.com/cfrancavilla?lang=es", None, "cfrancavilla"),
    ("twitter", "http://mobile.twitter.com/cfrancavilla", None, "cfrancavilla"),
    ("twitter", "www.twitter.com/cfrancavilla", None, "cfrancavilla"),
    ("twitter", "https://x.com/cfrancavilla/status/123", None, "cfrancavilla"),
    ("X", "@c_franca", None, "c_franca"),
    # facebook: dots do not count; profile.php?id= gives the numeric id
    ("facebook", "https://www.facebook.com/carlos.francavilla", None, "carlosfrancavilla"),
    ("facebook", "fb.com/CarlosFrancavilla/", None, "carlosfrancavilla"),
    ("facebook", "m.facebook.com/profile.php?id=100012345678", None, "100012345678"),
    ("facebook", "https://facebook.com/profile.php?id=123&ref=bookmarks", None, "123"),
    ("facebook", "facebook.com/people/Carlos-F/100012345678/", None, "100012345678"),
    ("facebook", "@Carlos.Francavilla", None, "carlosfrancavilla"),
    # linkedin
    ("linkedin", "https://www.linkedin.com/in/carlos-francavilla/", None, "carlos-francavilla"),
    ("linkedin", "linkedin.com/in/Carlos-Francavilla?trk=x", None, "carlos-francavilla"),
    ("linkedin", "ar.linkedin.com/in/carlos-francavilla", None, "carlos-francavilla"),
    ("linkedin", "https://www.linkedin.com/pub/carlos-f/12/345/678", None, "carlos-f"),
    ("linkedin", "carlos-francavilla", None, "carlos-francavilla"),
    # instagram, threads
    ("instagram", "@C.Francavilla", None, "c.francavilla"),
    ("instagram", "instagram.com/c.francavilla/?hl=es", None, "c.francavilla"),
    ("instagram", "https://www.instagram.com/c_francavilla", None, "c_francavilla"),
    ("threads", "https://www.threads.net/@c.francavilla", None, "c.francavilla"),
    # github
    ("github", "github.com/Octo-Cat", None, "octo-cat"),
    ("github", "https://github.com/octo-cat/repo/", None, "octo-cat"),
    ("github", "@octo-cat", None, "octo-cat"),
    # tiktok, youtube
    ("tiktok", "tiktok.com/@Carlos.F", None, "carlos.f"),
    ("tiktok", "https://www.tiktok.com/@carlos.f?lang=es", None, "carlos.f"),
    ("tiktok", "@carlos.f", None, "carlos.f"),
    ("youtube", "youtube.com/@CarlosF", None, "carlosf"),
    ("youtube", "https://www.youtube.com/c/CarlosF", None, "carlosf"),
    ("youtube", "youtube.com/user/carlosf/videos", None, "carlosf"),
    ("youtube", "https://m.youtube.com/@carlosf/", None, "carlosf"),
    # federated and domain handles keep their instance or domain
    ("mastodon", "@Alice@Mastodon.Social", None, "alice@mastodon.social"),
    ("mastodon", "https://mastodon.social/@Alice", None, "alice@mastodon.social"),
    ("bluesky", "bsky.app/profile/Alice.bsky.social", None, "alice.bsky.social"),
    ("telegram", "https://t.me/Carlos_F", None, "carlos_f"),
    # ip: canonical text, IPv4-mapped IPv6 is the IPv4 address
    ("ip", "181.2.3.4", None, "181.2.3.4"),
    ("ip", " 10.0.0.1 ", None, "10.0.0.1"),
    ("ip", "2001:0DB8:0000:0000:0000:0000:0000:0001", None, "2001:db8::1"),
    ("ip", "[2001:db8::1]", None, "2001:db8::1"),
    ("ip", "::ffff:181.2.3.4", None, "181.2.3.4"),
    ("ip", "::FFFF:b502:0304", None, "181.2.3.4"),
    ("ip", "FE80::1", None, "fe80::1"),
]


@pytest.mark.parametrize(("type_", "value", "region", "expected"), VALID)
def test_normalise(type_: str, value: str, region: str | None, expected: str) -> None:
    assert normalise(type_, value, region=region) == expected


@pytest.mark.parametrize(("type_", "value", "region", "expected"), VALID)
def test_normalise_is_idempotent(type_: str, value: str, region: str | None, expected: str) -> None:
    assert normalise(type_, expected, region=region) == expected


# (type, value, region, the reason in brackets after "'<value>' is not <a type>")
INVALID: list[tuple[str, str, str | None, str]] = [
    ("email", "carlos.gmail.com", None, "no '@'"),
    ("email", "a@b@example.com", None, "more than one '@'"),
    ("email", "@gmail.com", None, "nothing before '@'"),
    ("email", "carlos@localhost", None, "domain 'localhost' has no '.'"),
    ("email", "carlos@gmail..com", None, "'gmail..com' is not a domain name"),
    ("email", "car los@gmail.com", None, "' ' is not allowed before '@'"),
    ("email", "+news@gmail.com", None, "nothing left before '@'"),
    ("email", "   ", None, "empty value"),
    ("phone", "612 34 56 78", None, "national number without a country"),
    ("phone", "+1 201 555 0123 ext 12", None, "contains letters"),
    ("phone", "555-CALL-NOW", "US", "contains letters"),
    ("phone", "+54 11 4555-1234#", None, "contains '#'"),
    ("phone", "12", "ES", "too short"),
    ("phone", "+34 612", None, "too short"),
    ("phone", "+34 6123456789012345", None, "too long"),
    ("phone", "+999 1234567", None, "unknown country calling code"),
    ("phone", "612345678", "XX", "country 'XX' is not an ISO 3166 alpha-2 code"),
    ("phone", "tel:", None, "no digits"),
    ("account", "AR#0099812", None, "contains '#'"),
    ("account", "ÑU-1", None, "contains 'Ñ'"),
    ("account", "--", None, "no letters or digits"),
    ("national_id", "12_345", None, "contains '_'"),
    ("twitter", "@carlos.f", None, "expected 1-15 letters, digits or '_', got 'carlos.f'"),
    ("twitter", "@a_handle_far_too_long", None, "expected 1-15 letters"),
    ("twitter", "facebook.com/carlos", None, "facebook.com is not a Twitter host"),
    ("twitter", "https://x.com/", None, "'/' is not a profile path"),
    ("twitter", "https://x.com/i/web/status/1", None, "is not a profile path"),
    ("facebook", "facebook.com/profile.php", None, "profile URL without '?id='"),
    ("facebook", "facebook.com/groups/123", None, "is not a profile path"),
    ("linkedin", "linkedin.com/company/acme", None, "is not a profile path"),
    ("tiktok", "tiktok.com/carlos", None, "is not a profile path"),
    ("youtube", "youtube.com/channel/UC123", None, "is not a profile path"),
    ("github", "github.com/-bad-", None, "got '-bad-'"),
    ("mastodon", "alice", None, "no instance"),
    ("ip", "fe80::1%eth0", None, "zone id"),
    ("ip", "999.1.1.1", None, "expected IPv4"),
    ("ip", "010.001.002.003", None, "expected IPv4"),
    ("ip", "not-an-ip", None, "expected IPv4"),
    ("device", "  ", None, "empty value"),
]


@pytest.mark.parametrize(("type_", "value", "region", "reason"), INVALID)
def test_normalise_rejects(type_: str, value: str, region: str | None, reason: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise(type_, value, region=region)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{value!r} is not ")


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("email", "carlos.gmail.com", "'carlos.gmail.com' is not an email address (no '@')"),
        (
            "twitter",
            "@c.f",
            "'@c.f' is not a Twitter handle (expected 1-15 letters, digits or '_', got 'c.f')",
        ),
        (
            "",
            "x",
            "'x' is not a valid identifier (the identifier type is empty; expected e.g. 'email')",
        ),
    ],
)
def test_error_message(type_: str, value: str, message: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise(type_, value)
    assert str(caught.value) == message


def test_error_is_a_value_error_carrying_type_and_value() -> None:
    with pytest.raises(ValueError, match="not a phone number") as caught:
        normalise("Mobile", "abc")
    assert isinstance(caught.value, IdentifierError)
    assert (caught.value.type, caught.value.value) == ("phone", "abc")
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)  # noqa: S301


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        (" Email ", "email"),
        ("mail", "email"),
        ("e-mail", "email"),
        ("TEL", "phone"),
        ("mobile", "phone"),
        ("x", "twitter"),
        ("Twitter", "twitter"),
        ("loyalty_card", "loyalty_card"),
    ],
)
def test_canonical_type(type_: str, expected: str) -> None:
    assert canonical_type(type_) == expected


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("email", Strength.STRONG),
        ("phone", Strength.STRONG),
        ("mobile", Strength.STRONG),
        ("account", Strength.STRONG),
        ("employee_id", Strength.STRONG),
        ("national_id", Strength.STRONG),
        ("twitter", Strength.STRONG),
        ("x", Strength.STRONG),
        ("linkedin", Strength.STRONG),
        ("ip", Strength.WEAK),
        ("device", Strength.MEDIUM),
        ("loyalty_card", Strength.MEDIUM),
    ],
)
def test_strength(type_: str, expected: Strength) -> None:
    assert strength(type_) == expected


def test_every_social_network_is_strong_and_known() -> None:
    wanted = {"twitter", "facebook", "linkedin", "instagram", "github", "tiktok", "youtube"}
    assert wanted <= SOCIAL_NETWORKS
    assert SOCIAL_NETWORKS <= KNOWN_TYPES
    assert {strength(network) for network in SOCIAL_NETWORKS} == {Strength.STRONG}
