"""The stewards' UI in a real headless Chromium (Debian's `chromium`, driven by
Playwright; no browser download), against the real app on a real embedded
graph: a steward signs in, decides a candidate with the keyboard, merges two
profiles, splits one, undoes the split and reads the audit trail; each step is
checked in the page and in the graph. Screenshots of the queue and of a
profile's identity graph are saved under `test-artifacts/` (or
$TEST_ARTIFACTS_DIR).

Without Chromium the tests are skipped, except under CI=true, where that fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.auth import Role
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.store import GraphWriter
from resolvers.batch import resolve_all
from tests.conftest import LiveServer
from tests.helpers import load, profile_of, rec
from tests.resolvers.population import population

CHROMIUM = os.environ.get("DIRECTORY_CHROMIUM") or shutil.which("chromium") or ""
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", "test-artifacts"))
# As the machine's probe starts it: no sandbox (root), no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM:
        message = "the UI tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must install it (.ci/run does)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def graph_of(server: LiveServer, settings: Settings) -> Iterator[GraphWriter]:
    """The live server's graph, opened beside it (through its socket)."""
    backend = open_embedded(settings.data_dir)
    yield GraphWriter(backend)
    backend.close()


@pytest.fixture
def page(browser: Any, server: LiveServer, keys: dict[Role, str]) -> Iterator[Any]:
    """A steward signed in through the login form."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.goto(f"{server.url}/admin/queue")
    assert "/admin/login" in tab.url  # nobody gets in without a key
    tab.get_by_label("API key").fill(keys[Role.STEWARD])
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/admin/queue")
    yield tab
    context.close()


def _unlabelled_controls(tab: Any) -> list[str]:
    """Form controls a screen reader could not name."""
    names: list[str] = tab.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                         && !e.getAttribute('aria-label'))
            .map(e => e.outerHTML)"""
    )
    return names


INES = [rec("crm", "M1", "Inés Arroyo", email="ines@x.org"),
        rec("twitter", "M2", "Inés A.", twitter="@inesarroyo"),
        rec("helpdesk", "M3", "Ines Arroyo", twitter="@inesarroyo")]  # fmt: skip


def test_a_steward_works_through_queue_merge_split_undo_and_history(
    page: Any, graph_of: GraphWriter, settings: Settings, server: LiveServer
) -> None:
    records, _ = population(people=40)
    load(graph_of, [*records, *INES], settings)
    resolve_all(graph_of, thresholds=settings.thresholds, source_rank=settings.source_rank)
    _decide_the_top_candidate_with_the_keyboard(page, graph_of, server)
    first = _merge_from_a_profile_page(page, graph_of, server)
    _split_and_undo(page, graph_of, first)
    # The audit trail shows every step, the split marked undone.
    page.get_by_role("link", name="History").click()
    page.wait_for_url("**/admin/history")
    actions = page.locator("tr.event td:nth-child(3)").all_inner_texts()
    assert actions[:4] == ["undo", "split", "merge", "decide"]
    assert "undone" in page.locator("tr.event").nth(1).get_attribute("class")


def _decide_the_top_candidate_with_the_keyboard(
    page: Any, graph_of: GraphWriter, server: LiveServer
) -> None:
    page.goto(f"{server.url}/admin/queue")
    assert page.locator("tr.candidate").count() > 0
    assert _unlabelled_controls(page) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/review?**")
    left = page.locator("input[name=left]").input_value()
    right = page.locator("input[name=right]").input_value()
    assert page.locator("table.explain").is_visible()  # the model's evidence
    assert _unlabelled_controls(page) == []
    page.keyboard.press("d")  # not the same
    page.wait_for_url(lambda url: f"left={left}" not in url.replace("%2F", "/"))
    assert "judged" in page.locator(".banner.done").inner_text()
    judged = graph_of.judgement_history(left, right)
    assert [j.decision for j in judged] == ["different"]
    assert judged[0].by.startswith("steward-")


def _merge_from_a_profile_page(page: Any, graph_of: GraphWriter, server: LiveServer) -> str:
    """Merge Inés's tweet profile into her CRM one, keeping the CRM id."""
    first, second = profile_of(graph_of, "crm", "M1"), profile_of(graph_of, "twitter", "M2")
    assert first != second
    page.goto(f"{server.url}/admin/profiles/{first}")
    assert _unlabelled_controls(page) == []
    page.get_by_label("Merge with profile ids").fill(second)
    page.get_by_role("button", name="Merge profiles").click()
    page.wait_for_selector(".banner.done")
    assert f"merged {second} into {first}" in page.locator(".banner.done").inner_text()
    assert profile_of(graph_of, "twitter", "M2") == first
    assert profile_of(graph_of, "helpdesk", "M3") == first
    assert graph_of.resolve_profile_id(second) == first
    assert page.locator("tr[data-record]").count() == 3
    return first


def _split_and_undo(page: Any, graph_of: GraphWriter, first: str) -> None:
    """Split the tweet and the ticket out again; then undo the split."""
    page.locator("tr[data-record='twitter/M2'] input[type=checkbox]").check()
    page.locator("tr[data-record='helpdesk/M3'] input[type=checkbox]").check()
    page.get_by_role("button", name="Split selected records").click()
    page.wait_for_selector(".banner.done")
    assert "split 2 of 3 records" in page.locator(".banner.done").inner_text()
    split_off = profile_of(graph_of, "twitter", "M2")
    assert split_off != first
    assert profile_of(graph_of, "helpdesk", "M3") == split_off
    assert page.locator("tr[data-record]").count() == 1
    page.locator(".banner.done").get_by_role("button", name="Undo").click()
    page.wait_for_selector(".banner.done")
    assert "undid split" in page.locator(".banner.done").inner_text()
    assert profile_of(graph_of, "twitter", "M2") == first
    assert profile_of(graph_of, "helpdesk", "M3") == first
    assert page.locator("tr[data-record]").count() == 3
    page.locator("#identity-graph").screenshot(path=str(ARTIFACTS / "profile-graph.png"))
    assert page.locator("#identity-graph svg .record").count() == 3


def test_search_finds_profiles_by_identifier_and_name(
    page: Any, graph_of: GraphWriter, settings: Settings, server: LiveServer
) -> None:
    carlos = rec("crm", "1", "Carlos Francavilla", email="carlos@x.org")
    load(graph_of, [carlos, rec("twitter", "2", "Carlos F.", twitter="@cfrancavilla")], settings)
    page.keyboard.press("/")
    page.keyboard.type("@cfrancavilla")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/profiles/**")  # one profile: straight to it
    assert page.locator("h1").inner_text() == "Carlos F."
    page.get_by_label("Search profiles").fill("francavilla")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/admin/profiles/**")
    assert profile_of(graph_of, "crm", "1") in page.url


def test_an_agent_finds_experts_but_not_the_stewards_pages(
    browser: Any, server: LiveServer, keys: dict[Role, str], graph_of: GraphWriter,
    settings: Settings,
) -> None:  # fmt: skip
    hr = rec("hr", "E1", "Ana Gil", employee_id="E1") | {
        "kind": "employee", "attributes": {"department": "Network Engineering",
                                           "title": "IP Architect"}}  # fmt: skip
    wiki = rec("wiki", "w1", "Ana Gil", employee_id="E1") | {
        "kind": "employee", "text": "Runbook: adressage IPv6 sur les box."}  # fmt: skip
    load(graph_of, [hr, wiki], settings)
    tab = browser.new_page()
    tab.goto(f"{server.url}/admin/login")
    tab.get_by_label("API key").fill(keys[Role.AGENT])
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/experts")
    tab.get_by_label("A question or a customer's message").fill("¿quién sabe de doble pila?")
    tab.get_by_role("button", name="Find experts").click()
    tab.wait_for_selector("li.expert")
    assert "Ana Gil" in tab.locator("li.expert h2").first.inner_text()
    assert "IP Architect" in tab.locator("li.expert .meta").first.inner_text()
    assert "adressage IPv6" in tab.locator("li.expert blockquote").first.inner_text()
    assert _unlabelled_controls(tab) == []
    tab.goto(f"{server.url}/admin/history")
    assert "/admin/login" in tab.url
    assert "needs a steward key" in tab.locator(".banner.error").inner_text()
    tab.close()
