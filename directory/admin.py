"""The data stewards' web UI at /admin: the review queue, a side-by-side
comparison with the match model's explanation, profile pages with a picture
of the identity graph, merge, split, golden-record overrides, the audit trail
with undo, and search. Server-rendered HTML (no front-end build); a little
script adds keyboard shortcuts, and every action also works without it.

Signing in takes an API key with the steward role (or admin); it is kept in an
HttpOnly, SameSite=Strict cookie, so no other site can post a form with it.
Every action calls `directory.stewardship`, as the GraphQL API does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory import experts, profiles, stewardship
from directory.auth import Caller, Role
from directory.graph_picture import identity_graph_svg
from directory.ingest import MODELS
from directory.priority import source_order, source_rank
from directory.settings import Settings
from graph.model import Event, MatchingRow, StoredProfile
from graph.store import GraphWriter
from resolvers.explain import why
from resolvers.names import fold

COOKIE = "directory_admin_key"
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
router = APIRouter(prefix="/admin")
everyone = APIRouter()  # pages for any signed-in role
_MESSAGES = ("done", "error", "notice")  # query parameters that carry a message


class LoginRequiredError(Exception):
    """The page needs a signed-in steward; the handler sends the browser to sign in."""

    def __init__(self, path: str, message: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def install(app: FastAPI) -> None:
    """Add the admin UI to the app."""
    app.state.queue = stewardship.QueueSnapshots()
    app.include_router(router)
    app.include_router(everyone)
    app.mount("/admin/static", StaticFiles(directory=_HERE / "static"), name="admin-static")
    app.add_middleware(ServerTiming)

    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, error: LoginRequiredError) -> Response:
        query = {"next": error.path} | ({"error": error.message} if error.message else {})
        return RedirectResponse(f"/admin/login?{urlencode(query)}", status_code=303)


class ServerTiming:
    """Each admin response says how long the server took to start it
    (`Server-Timing: app;dur=ms`); other paths pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(("/admin", "/experts")):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", f"app;dur={took:.1f}")
            await send(message)

        await self.app(scope, receive, timed)


@dataclass(frozen=True)
class Page:
    """What every handler needs: the graph, the settings and the signed-in steward."""

    request: Request
    writer: GraphWriter
    settings: Settings
    caller: Caller
    queue: stewardship.QueueSnapshots

    def render(self, template: str, **context: Any) -> HTMLResponse:
        done = self.request.query_params.get("done")
        context |= {
            "caller": self.caller,
            "steward": Role.STEWARD,
            "done": self.writer.event(done) if done else None,
            "error": self.request.query_params.get("error"),
            "notice": self.request.query_params.get("notice"),
            "here": _here(self.request),
        }
        return templates.TemplateResponse(self.request, template, context)


def _here(request: Request) -> str:
    """The current page as a relative URL, to come back to after an action."""
    query = {k: v for k, v in request.query_params.items() if k not in _MESSAGES}
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def _page(request: Request, needs: Role = Role.STEWARD) -> Page:
    state = request.app.state
    caller = state.roles.caller_of(state.writer, request.cookies.get(COOKIE))
    if caller is None:
        raise LoginRequiredError(_here(request))
    if not caller.role.allows(needs):
        message = f"this page needs a {needs.value} key; yours is {caller.role.value}"
        raise LoginRequiredError(_here(request), message)
    return Page(request, state.writer, state.settings, caller, state.queue)


def _back(target: str, **query: str) -> RedirectResponse:
    """See-other to a page of ours (never elsewhere), with a message."""
    if not target.startswith(("/admin", "/experts")) or target.startswith("//"):
        target = "/admin/queue"
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(query)}" if query else target, 303)


def _attempt(action: Callable[[], Event]) -> Event | str:
    """Run an action: its event, or why it was refused."""
    try:
        return action()
    except stewardship.StewardError as error:
        return str(error)


def _act(target: str, action: Callable[[], Event]) -> RedirectResponse:
    """Run an action and go back to `target`, with its event or its refusal."""
    result = _attempt(action)
    if isinstance(result, str):
        return _back(target, error=result)
    return _back(target, done=result.id)


# --- sign in -----------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/admin/queue", error: str = "") -> HTMLResponse:  # noqa: A002 - the usual name
    return templates.TemplateResponse(
        request, "login.html", {"next": next, "error": error, "caller": None, "done": None}
    )


@router.post("/login")
def login(request: Request, key: str = Form(...), next: str = Form("/admin/queue")) -> Response:  # noqa: A002
    state = request.app.state
    caller = state.roles.caller_of(state.writer, key.strip())
    if caller is None:
        return _back("/admin/login", next=next, error="unknown key")
    # Agents sign in for expert search; the stewards' pages would send them back.
    target = next if caller.role.allows(Role.STEWARD) or next.startswith("/experts") else "/experts"
    response = _back(target)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/",
                        max_age=12 * 3600)  # fmt: skip
    return response


@router.post("/logout")
def logout() -> Response:
    response = _back("/admin/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("")
def home() -> Response:
    return _back("/admin/queue")


# --- the review queue and the comparison --------------------------------------


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, status: str = "pending", source: str = "", kind: str = "") -> Response:
    page = _page(request)
    try:
        items = page.queue.items(page.writer, status=status, source=source or None,
                            kind=kind or None, first=50)  # fmt: skip
    except stewardship.StewardError as error:
        return _back("/admin/queue", error=str(error))
    keys = [k for item in items for k in (item.candidate.left, item.candidate.right)]
    rows = {row.key: row for row in page.writer.matching_rows(keys)} if keys else {}
    return page.render(
        "queue.html", items=items, rows=rows, status=status, source=source, kind=kind,
        sources=source_order(page.writer, page.settings), review_url=review_url,
    )  # fmt: skip


def review_url(left: str, right: str) -> str:
    return f"/admin/review?{urlencode({'left': left, 'right': right})}"


@dataclass(frozen=True)
class AlignedRow:
    """One attribute or identifier type, both sides side by side."""

    name: str
    left: list[str]
    right: list[str]

    @property
    def verdict(self) -> str:
        """same, different, or missing (a side has no value). Names compare by
        their folded words, so "JOHNSON, VICTORIA" is "Victoria Johnson"."""
        if not self.left or not self.right:
            return "missing"
        left, right = ({_comparable(v) for v in side} for side in (self.left, self.right))
        return "same" if left & right else "different"


def _comparable(value: str) -> str:
    return " ".join(sorted(fold(value).split()))


def align(left: MatchingRow, right: MatchingRow) -> list[AlignedRow]:
    """Name, every attribute and every identifier type of two records, aligned."""

    def fields(row: MatchingRow) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"name": [row.name] if row.name else []}
        for name, value in sorted(row.attributes.items()):
            found.setdefault(name, []).append(value)
        for type_, value, *_ in sorted(row.identifiers):
            found.setdefault(f"{type_}", []).append(value)
        return found

    a, b = fields(left), fields(right)
    names = list(dict.fromkeys([*a, *b]))
    return [AlignedRow(n, a.get(n, []), b.get(n, [])) for n in names]


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, left: str, right: str) -> Response:
    page = _page(request)
    rows = {row.key: row for row in page.writer.matching_rows([left, right])}
    if left not in rows or right not in rows:
        return _back("/admin/queue", error=f"no record {left if left not in rows else right!r}")
    model = MODELS.current(page.writer)
    explained = why(page.writer, model, left, right) if model else None
    homes = {key: rows[key].profile_id for key in (left, right)}
    heads = page.writer.profile_heads([pid for pid in homes.values() if pid])
    return page.render(
        "review.html", left=rows[left], right=rows[right], aligned=align(rows[left], rows[right]),
        explained=explained.explanation if explained else None, heads=heads, homes=homes,
        history=page.writer.judgement_history(left, right),
        candidate=page.writer.review_between(left, right),
        next_url=f"/admin/next?{urlencode({'skip': f'{left} {right}'})}",
    )  # fmt: skip


@router.get("/next")
def next_candidate(request: Request, skip: str = "", done: str = "") -> Response:
    """On to the most consequential pending candidate (other than `skip`, a pair
    of record keys); the queue when there is none."""
    page = _page(request)
    skipped = tuple(skip.split()[:2])
    target = "/admin/queue"
    for item in page.queue.items(page.writer, first=2):
        pair = (item.candidate.left, item.candidate.right)
        if pair != skipped:
            target = review_url(*pair)
            break
    return _back(target, done=done) if done else _back(target)


@router.post("/decide")
def decide(
    request: Request, left: str = Form(...), right: str = Form(...),
    decision: str = Form(...), reason: str = Form(""),
) -> Response:  # fmt: skip
    page = _page(request)
    here = review_url(left, right)

    result = _attempt(lambda: stewardship.decide(
        page.writer, page.settings, left=left, right=right, decision=decision,
        by=page.caller.name, reason=reason or None,
    ))  # fmt: skip
    if isinstance(result, str):
        return _back(here, error=result)
    page.queue.forget(left, right)
    # On to the next candidate: a steward works through the queue.
    return _back("/admin/next", skip=f"{left} {right}", done=result.id)


# --- profiles -----------------------------------------------------------------


@router.get("/profiles/{profile_id}", response_class=HTMLResponse)
def profile_page(request: Request, profile_id: str) -> Response:
    page = _page(request)
    live = page.writer.resolve_profile_id(profile_id)
    if live is None:
        return _back("/admin/queue", error=f"no profile {profile_id!r}")
    if live != profile_id:
        return RedirectResponse(f"/admin/profiles/{quote(live)}", status_code=307)
    profile = page.writer.profile(live)
    if profile is None:
        return _back("/admin/queue", error=f"profile {live} has no records")
    picture = identity_graph_svg(profile, _probabilities(page.writer, profile))
    return page.render(
        "profile.html", profile=profile, picture=picture,
        golden=profiles.golden_record(profile, source_rank(page.writer, page.settings)),
        identifiers=profiles.identifiers(profile),
        records=sorted(profile.records, key=lambda r: (r.observed_at or "", r.key)),
        events=stewardship.history(page.writer, profile_id=live, first=50),
        sources=source_order(page.writer, page.settings),
    )  # fmt: skip


def _probabilities(writer: GraphWriter, profile: StoredProfile) -> dict[str, float]:
    """The probability of each link the match model made in the profile, by record."""
    matched = [r for r in profile.records if r.link.rule == "probabilistic"]
    if not matched:
        return {}
    edges = writer.match_edges([r.key for r in matched])
    by_pair = {frozenset((e.left, e.right)): e.probability for e in edges}
    return {
        r.key: by_pair[pair]
        for r in matched
        if (pair := frozenset((r.key, r.link.via_record or ""))) in by_pair
    }


@router.post("/profiles/{profile_id}/split")
def split(
    request: Request, profile_id: str, records: list[str] = Form(default=[]),  # noqa: B008
    reason: str = Form(""),
) -> Response:  # fmt: skip
    page = _page(request)
    here = f"/admin/profiles/{quote(profile_id)}"
    return _act(here, lambda: stewardship.split(
        page.writer, page.settings, profile_id=profile_id, records=records,
        by=page.caller.name, reason=reason or None,
    ))  # fmt: skip


@router.post("/merge")
def merge(
    request: Request, profile_id: str = Form(...), others: str = Form(""),
    survivor: str = Form(""), reason: str = Form(""),
) -> Response:  # fmt: skip
    page = _page(request)
    ids = [profile_id, *others.replace(",", " ").split()]
    here = f"/admin/profiles/{quote(profile_id)}"

    result = _attempt(lambda: stewardship.merge(
        page.writer, page.settings, profile_ids=ids, survivor=survivor or profile_id,
        by=page.caller.name, reason=reason or None,
    ))  # fmt: skip
    if isinstance(result, str):
        return _back(here, error=result)
    kept = page.writer.resolve_profile_id(survivor or profile_id) or profile_id
    return _back(f"/admin/profiles/{quote(kept)}", done=result.id)


@router.post("/profiles/{profile_id}/override")
def override(
    request: Request, profile_id: str, attribute: str = Form(...), value: str = Form(""),
) -> Response:  # fmt: skip
    page = _page(request)
    here = f"/admin/profiles/{quote(profile_id)}"
    return _act(here, lambda: stewardship.override(
        page.writer, page.settings, profile_id=profile_id, attribute=attribute,
        value=value or None, by=page.caller.name,
    ))  # fmt: skip


# --- history, undo, judgements --------------------------------------------------


@router.get("/history", response_class=HTMLResponse)
def history(request: Request) -> Response:
    page = _page(request)
    return page.render("history.html", events=stewardship.history(page.writer, first=200),
                       sources=source_order(page.writer, page.settings))  # fmt: skip


@router.post("/priority")
def priority(request: Request, order: str = Form(...)) -> Response:
    page = _page(request)
    return _act("/admin/history", lambda: stewardship.set_source_priority(
        page.writer, page.settings, order=order.split(), by=page.caller.name
    ))  # fmt: skip


@router.post("/undo")
def undo(
    request: Request, event_id: str = Form(...), back: str = Form("/admin/history")
) -> Response:
    page = _page(request)
    return _act(back, lambda: stewardship.undo(
        page.writer, page.settings, event_id=event_id, by=page.caller.name
    ))  # fmt: skip


@router.get("/judgements.jsonl")
def export_judgements(request: Request) -> Response:
    page = _page(request)

    def lines() -> Iterator[str]:
        for item in stewardship.export_judgements(page.writer):
            yield json.dumps(item, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="judgements.jsonl"'})  # fmt: skip


@router.post("/judgements")
def import_judgements(request: Request, jsonl: str = Form(...)) -> Response:
    page = _page(request)
    parsed: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    for number, line in enumerate(jsonl.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not JSON ({error.msg})")
            continue
        if isinstance(item, dict):
            parsed.append((number, item))
        else:
            problems.append(f"line {number}: expected a JSON object")
    report = stewardship.import_judgements(page.writer, page.settings, parsed, by=page.caller.name)
    problems += [f"line {line}: {reason}" for line, reason in report.skipped]
    notice = f"imported {report.imported} judgements"
    if problems:
        notice += f"; skipped {len(problems)}: " + "; ".join(problems[:5])
    return _back("/admin/history", notice=notice)


# --- search -------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = "") -> Response:
    page = _page(request)
    found = profiles.find(page.writer, query=q, region=page.settings.default_region) if q else []
    if len(found) == 1:
        return RedirectResponse(f"/admin/profiles/{quote(found[0].id)}", status_code=303)
    return page.render("search.html", query=q, found=found)


# --- expert search (any role) ----------------------------------------------------


@everyone.get("/experts", response_class=HTMLResponse)
def experts_page(request: Request, q: str = "") -> Response:
    page = _page(request, needs=Role.AGENT)
    found = None
    if q.strip():
        found = experts.search(page.writer, query=q, first=10, role=page.caller.role,
                               field_roles=page.settings.field_roles)  # fmt: skip
    return page.render("experts.html", question=q, found=found)
