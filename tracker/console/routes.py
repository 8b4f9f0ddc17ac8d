"""Console pages: dispatch board, case, adjudication queue and ruling form, gap clusters, catalogue and the
suggestions learnt from the loop, figures."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select

from catalogue.binding import bound_to_a_unit, department_names
from catalogue.loader import CatalogueError
from catalogue.model import Catalogue
from services.caller import authenticate
from services.problems import Problem
from tracker import adjudication as adj
from tracker import adjudication_queue as adjq
from tracker import suggestions as loop
from tracker.api.catalogue import RollbackBody, history
from tracker.api.catalogue import diff as catalogue_diff
from tracker.api.catalogue import rollback as api_rollback
from tracker.api.deps import DepsDep
from tracker.api.stats import parse_window
from tracker.console import session
from tracker.console.chart import Series, line_chart
from tracker.console.headers import ConsoleRoute
from tracker.console.heatmap import Label, density_svg, tile_origin
from tracker.console.session import ConsoleCaller, ConsoleWriter
from tracker.domain import figures
from tracker.domain.commands import Principle
from tracker.domain.heat import HeatBy
from tracker.domain.scorecard import Month
from tracker.handlers import CaseNotFound, Deps
from tracker.heat import heat_view
from tracker.privacy import record_personal_reads
from tracker.store import board as board_store
from tracker.store import catalogue as versions
from tracker.store.figures import dispatch_records
from tracker.store.heat import HeatFilter
from tracker.store.models import Case, RulingRecord, Subject, TimelineEntry
from tracker.store.subjects import TIER_NAMES, list_subjects, reasons_of, subject_view
from tracker.subjects import SubjectRefused
from tracker.subjects import merge as merge_subjects

HERE = Path(__file__).parent
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
# Autoescape on for every template: report text is whatever a caller typed (HTML- and SQL-like included).
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
SHANGHAI = ZoneInfo("Asia/Shanghai")
templates.filters["local"] = lambda at, fmt="%Y-%m-%d %H:%M": at.astimezone(SHANGHAI).strftime(fmt) if at else "—"

PRINCIPLES = {"competent": "谁主管谁牵头", "main": "谁为主谁牵头", "nearest": "谁靠近谁牵头",
              "legal": "有法可循", "no_basis": "无据可依"}
STATUSES = {"received": "已接收", "routed": "已分拨", "gap": "空白待裁决", "dispatched": "已派单",
            "acknowledged": "已报到", "feedback": "已反馈", "closed": "已办结", "returned": "已退单",
            "disputed": "争议待裁决",
            "adjudicated": "已裁决", "duplicate": "重复件"}
REASONS = {"wrong_unit": "属地不符", "not_our_remit": "职能不符", "overlapping_remits": "职能交叉",
           "insufficient_information": "信息不全", "duplicate": "重复"}
OUTCOMES = {"resolved": "已解决", "rectification_ordered": "责令整改", "penalised": "行政处罚", "shut_down": "关停取缔",
            "referred": "移送", "not_found": "查无实据"}
SUCCESS_TARGET = 0.988
MERGERS = ("operator", "admin")  # who merges subjects (as POST /v1/subjects/{id}/merge)
HEAT_CELL = 0.005  # degrees: about 550 m north-south, a few blocks of a city community


async def _catalogue(deps: Deps) -> Catalogue:
    async with deps.db.transaction() as s:
        return versions.parsed(await versions.in_force(s, deps.settings))


def page(name: str, request: Request, caller: Any, **context: Any) -> HTMLResponse:
    context.setdefault("csrf", session.csrf_of(request))  # every form of the page posts it back
    html = templates.get_template(name).render(request=request, caller=caller, principles=PRINCIPLES,
                                               statuses=STATUSES, reasons=REASONS, outcomes=OUTCOMES,
                                               **context)
    return HTMLResponse(html)


@router.get("/static/htmx.min.js")
async def htmx() -> FileResponse:
    return FileResponse(HERE / "static" / "htmx.min.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, deps: DepsDep) -> HTMLResponse:
    return _login_page(request, deps, None, 200)


@router.post("/login", response_model=None)
async def login(request: Request, deps: DepsDep, credential: Annotated[str, Form(max_length=400)]) -> Response:
    """The same credential as the API; only adjudicators, operators and administrators may enter."""
    try:
        await session.check_login_form(request, deps.settings)
    except Problem as exc:
        return _login_page(request, deps, "登录表单已失效，请重新登录", exc.status)
    try:
        caller = await authenticate(request, credential.strip())
    except Problem:
        return _login_page(request, deps, "凭据无效", 401)
    if caller.role not in session.CONSOLE_ROLES:
        return _login_page(request, deps, "此角色无权使用控制台（仅裁决员、运营人员、管理员）", 401)
    response = RedirectResponse("/console", status_code=303)
    await session.start(response, request, deps, caller, credential.strip())
    return response


def _login_page(request: Request, deps: Deps, error: str | None, status: int) -> HTMLResponse:
    nonce, token = session.login_token(request, deps.settings)
    response = page("login.html", request, None, error=error, login_token=token)
    response.status_code = status
    session.set_login_nonce(response, request, nonce)
    return response


@router.post("/logout")
async def logout(request: Request, deps: DepsDep, caller: ConsoleWriter) -> RedirectResponse:
    """Ends the session on the server: the cookie is refused on every replica afterwards, not only deleted."""
    response = RedirectResponse("/console/login", status_code=303)
    await session.end(request, response, deps)
    return response


BOARD_PAGE = 50


@router.get("", response_class=HTMLResponse)
async def board(request: Request, deps: DepsDep, caller: ConsoleCaller,
                unit: Annotated[str, Query(max_length=64)] = "",
                department: Annotated[str, Query(max_length=64)] = "",
                status: Annotated[str, Query(max_length=24)] = "open",
                rule: Annotated[str, Query(max_length=16)] = "",
                overdue: Annotated[bool, Query()] = False,
                q: Annotated[str, Query(max_length=200)] = "",
                page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> HTMLResponse:
    """调度看板: the cases held now by default, overdue first; filtered, searched and paged."""
    if status not in ("open", "all", *STATUSES):
        raise Problem(422, "Invalid status", f"status must be open, all or one of {', '.join(STATUSES)}")
    chosen = board_store.BoardFilter(unit=unit.strip(), department=department.strip(), status=status,
                                     rule=rule.strip(), overdue=overdue, q=q.strip())
    async with deps.db.sessions() as s:
        rows, total = await board_store.page_of(s, chosen, page_no, BOARD_PAGE)
        departments = await board_store.by_department(s, chosen)
        pending = int(await s.scalar(select(func.count()).select_from(Case).where(Case.status.in_(adj.PENDING)))
                      or 0)
    cat = await _catalogue(deps)
    names = department_names(cat)
    pages = max(1, -(-total // BOARD_PAGE))
    query = {k: v for k, v in (("unit", chosen.unit), ("department", chosen.department), ("status", chosen.status),
                               ("rule", chosen.rule), ("overdue", "true" if overdue else ""), ("q", chosen.q))
             if v and (k, v) != ("status", "open")}

    def link(**changes: Any) -> str:
        """The board with these filters changed (page 1 unless given): filters survive paging and chips."""
        merged = {k: v for k, v in {**query, **changes}.items() if v}
        return "/console" + (f"?{urlencode(merged)}" if merged else "")

    return page("board.html", request, caller, rows=rows, total=total, departments=departments, names=names,
                units={code: u.name for code, u in cat.units.items()}, rules=board_store.BOARD_RULES, f=chosen,
                page_no=page_no, pages=pages, link=link, pending=pending,
                overdue_total=sum(late for _, _, late in departments), now=deps.now())


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(case_id: str, request: Request, deps: DepsDep, caller: ConsoleCaller) -> HTMLResponse:
    """案件详情: report, timeline, decision trace, returns, ruling."""
    async with deps.db.sessions() as s:
        row = await s.get(Case, case_id)
        if row is None:
            raise Problem(404, "Case not found", f"no case {case_id!r}")
        timeline = (await s.execute(select(TimelineEntry).where(TimelineEntry.case_id == case_id)
                                    .order_by(TimelineEntry.id))).scalars().all()
        rulings = (await s.execute(select(RulingRecord).where(RulingRecord.case_id == case_id)
                                   .order_by(RulingRecord.id))).scalars().all()
        subject = await s.get(Subject, row.subject_id) if row.subject_id else None
    # The page shows the reporter's name and phone and the text as typed: audited as the API's reads are.
    await record_personal_reads(deps.db, caller, [(case_id, row.report)], via="console")
    names = department_names(await _catalogue(deps))
    return page("case.html", request, caller, case=row, timeline=timeline, rulings=rulings, names=names,
                subject=subject, tier_names=TIER_NAMES, tier_reasons=reasons_of(subject) if subject else [],
                decision=row.decision or {}, report=row.report or {}, returns=(row.state or {}).get("returns", []))


@router.get("/adjudications", response_class=HTMLResponse)
async def queue_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                     kind: Annotated[str | None, Query(pattern="^(gap|dispute)$")] = None) -> HTMLResponse:
    """裁决队列: gaps and disputes with their context."""
    items = await adjq.queue(deps, kind=kind, limit=100)
    await record_personal_reads(deps.db, caller, [(i["case_id"], i["report"]) for i in items], via="console")
    names = department_names(await _catalogue(deps))
    return page("queue.html", request, caller, items=items, names=names, kind=kind)


@router.get("/adjudications/{case_id}", response_class=HTMLResponse)
async def ruling_form(case_id: str, request: Request, deps: DepsDep, caller: ConsoleCaller,
                      also: Annotated[str, Query(max_length=20000)] = "") -> HTMLResponse:
    """The ruling form for one case (and, from a gap cluster, the other cases of the cluster)."""
    items = await adjq.queue(deps, case_id=case_id)
    if not items:
        raise Problem(404, "Not in the queue", f"no case {case_id!r} waits for a ruling")
    await record_personal_reads(deps.db, caller, [(case_id, items[0]["report"])], via="console")
    cat = await _catalogue(deps)
    others = [c for c in also.split(",") if c.strip() and c != case_id]
    async with deps.db.sessions() as s:
        rows = (await s.execute(select(Case).where(Case.case_id.in_([case_id, *others])))).scalars().all()
        suggested = await adj.suggest_terms(s, rows, cat)
    names = department_names(cat)
    # Stations of named units too: when the router found no unit, the adjudicator may know where the place lies.
    stations = [(code, names[code]) for code in names if bound_to_a_unit(code, cat)]
    return page("ruling.html", request, caller, item=items[0], names=names,
                departments=sorted(cat.departments.items()), templates=cat.unit_departments.values(),
                stations=stations, suggested=suggested, also=others, result=None, error=None)


@router.post("/adjudications/{case_id}/ruling", response_class=HTMLResponse)
async def rule(case_id: str, request: Request, deps: DepsDep, caller: ConsoleWriter,
               lead: Annotated[str, Form(max_length=64)], principle: Annotated[Principle, Form()],
               cooperating: Annotated[str, Form(max_length=600)] = "",
               basis: Annotated[str, Form(max_length=2000)] = "",
               note: Annotated[str, Form(max_length=4000)] = "", save_as_rule: Annotated[bool, Form()] = False,
               terms: Annotated[str, Form(max_length=800)] = "", also: Annotated[str, Form(max_length=20000)] = "",
               ) -> HTMLResponse:
    """Rule from the console: the same ruling as POST /v1/adjudications/{id}/ruling."""
    if caller.role != "adjudicator":
        raise Problem(403, "Forbidden", f"rulings need the role adjudicator, not {caller.role}")
    data = adj.RulingInput(
        lead=lead.strip(), principle=principle, basis=basis.strip(), note=note.strip(), save_as_rule=save_as_rule,
        cooperating=tuple(c.strip() for c in cooperating.replace("，", ",").split(",") if c.strip()),
        terms=tuple(t.strip() for t in terms.replace("，", ",").replace("、", ",").split(",") if t.strip()),
        also=tuple(c.strip() for c in also.split(",") if c.strip()),
    )
    cat = await _catalogue(deps)
    try:
        result = await adj.rule(deps, case_id, data, caller)
    except (adj.Refused, CaseNotFound) as exc:
        error = exc.detail if isinstance(exc, adj.Refused) else f"no case {case_id}"
        response = page("ruling.html", request, caller, item=None, names=department_names(cat), departments=[],
                        templates=[], suggested=[], also=[], result=None, error=error)
        response.status_code = exc.status if isinstance(exc, adj.Refused) else 404
        return response
    return page("ruled.html", request, caller, result=result, names=department_names(cat), case_id=case_id)


@router.post("/adjudications/reroute", response_class=HTMLResponse)
async def reroute(request: Request, deps: DepsDep, caller: ConsoleWriter,
                  case_ids: Annotated[list[str], Form()]) -> HTMLResponse:
    """批量改派: the pending gap cases a new rule covers."""
    if caller.role != "adjudicator":
        raise Problem(403, "Forbidden", f"re-routing needs the role adjudicator, not {caller.role}")
    out = await adj.reroute(deps, case_ids[:1000], caller)
    names = department_names(await _catalogue(deps))
    return page("rerouted.html", request, caller, out=out, names=names)


@router.get("/clusters", response_class=HTMLResponse)
async def clusters_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                        days: Annotated[int, Query(ge=1, le=366)] = 30) -> HTMLResponse:
    """空白发现: recent gap cases grouped by what they are about and where."""
    found = await adjq.gap_clusters(deps, days=days)
    names = department_names(await _catalogue(deps))
    return page("clusters.html", request, caller, clusters=found, days=days, names=names)


@router.get("/catalogue", response_class=HTMLResponse)
async def catalogue_page(request: Request, deps: DepsDep, caller: ConsoleCaller) -> HTMLResponse:
    """目录版本: versions with who, when, why; diffs; rollback."""
    return page("catalogue.html", request, caller, rows=await history(deps), message=None)


@router.get("/catalogue/{version}/diff", response_class=HTMLResponse)
async def diff_page(version: str, request: Request, deps: DepsDep, caller: ConsoleCaller,
                    against: Annotated[str | None, Query(max_length=120)] = None) -> HTMLResponse:
    return page("diff.html", request, caller, diff=await catalogue_diff(deps, version, against))


@router.post("/catalogue/{version}/rollback", response_class=HTMLResponse)
async def rollback(version: str, request: Request, deps: DepsDep, caller: ConsoleWriter,
                   reason: Annotated[str, Form(min_length=1, max_length=2000)]) -> HTMLResponse:
    if caller.role not in ("adjudicator", "admin"):
        raise Problem(403, "Forbidden", f"rollback needs the role adjudicator or admin, not {caller.role}")
    row = await api_rollback(version, RollbackBody(reason=reason), deps, caller)
    return page("catalogue.html", request, caller, rows=await history(deps),
                message=f"已回滚：{version} 的内容作为新版本 {row['version']} 发布")


KINDS = {"gazetteer": "地名（属地）", "alias": "别名（行业、事项）"}


def suggestion_targets(cat: Catalogue) -> dict[str, str]:
    """What a suggestion's target names: a unit code, industries.<code> or matters.<code> → its name."""
    names = {code: u.name for code, u in cat.units.items()}
    names |= {f"industries.{code}": i.name for code, i in cat.industries.items()}
    names |= {f"matters.{code}": m.name for code, m in cat.matters.items()}
    return names


async def _suggestions_page(request: Request, deps: Deps, caller: Any, *, error: str | None = None,
                            published: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    version, found = await loop.current(deps)
    groups = [(kind, [s for s in found if s.kind == kind]) for kind in KINDS]
    response = page("suggestions.html", request, caller, version=version, kinds=KINDS,
                    groups=[(kind, items) for kind, items in groups if items],
                    targets=suggestion_targets(await _catalogue(deps)), error=error, published=published)
    response.status_code = status
    return response


@router.get("/suggestions", response_class=HTMLResponse)
async def suggestions_page(request: Request, deps: DepsDep, caller: ConsoleCaller) -> HTMLResponse:
    """目录建议: places and aliases the placed cases teach, each with its cases; accepted only by a person."""
    return await _suggestions_page(request, deps, caller)


@router.post("/suggestions/accept", response_class=HTMLResponse)
async def accept_suggestions(request: Request, deps: DepsDep, caller: ConsoleWriter,
                             reason: Annotated[str, Form(max_length=2000)] = "",
                             ids: Annotated[list[str] | None, Form()] = None) -> HTMLResponse:
    """The same acceptance as POST /v1/catalogue/suggestions/accept: a new catalogue version."""
    if caller.role not in ("adjudicator", "admin"):
        raise Problem(403, "Forbidden", f"accepting suggestions needs the role adjudicator or admin, not {caller.role}")
    chosen = [i for i in ids or [] if i.strip()][:200]
    if not chosen or not reason.strip():
        return await _suggestions_page(request, deps, caller, status=422,
                                       error="请勾选至少一条建议并填写采纳原因")
    try:
        row = await loop.accept(deps, chosen, reason.strip(), caller)
    except loop.Stale as exc:
        return await _suggestions_page(request, deps, caller, status=409,
                                       error=f"以下建议已不在现行目录 {exc.version} 的建议中（已被采纳或已过时）："
                                             f"{'、'.join(exc.ids)}")
    except CatalogueError as exc:
        return await _suggestions_page(request, deps, caller, status=422, error=f"新目录无法通过校验：{exc}")
    return await _suggestions_page(request, deps, caller, published={
        "version": row.version, "parent": row.parent, "accepted": chosen})


@router.get("/figures", response_class=HTMLResponse)
async def figures_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                       days: Annotated[int, Query(ge=1, le=180)] = 30) -> HTMLResponse:
    """分拨成效: dispatch success and first-dispatch accuracy per day."""
    now = deps.now()
    # Days as the district counts them: from midnight in Asia/Shanghai.
    start = (now.astimezone(SHANGHAI) - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    async with deps.db.sessions() as s:
        records = await dispatch_records(s, start)
    success = figures.daily(records, start, days, partial(figures.dispatch_success, now=now))
    accuracy = figures.daily(records, start, days, figures.first_dispatch_accuracy)
    chart = line_chart([Series("分拨成功率", "#1565c0", [(d, r.value) for d, r in success]),
                        Series("首次分拨准确率", "#2e7d32", [(d, r.value) for d, r in accuracy])],
                       target=SUCCESS_TARGET, target_label="目标 98.8%")
    total_success = figures.dispatch_success(records, start, now + timedelta(seconds=1), now=now)
    total_accuracy = figures.first_dispatch_accuracy(records, start, now + timedelta(seconds=1))
    return page("figures.html", request, caller, chart=chart, days=days, success=total_success,
                accuracy=total_accuracy, rows=list(zip(success, accuracy, strict=True)))


HEAT_WINDOWS = {"7d": "近 7 天", "30d": "近 30 天", "90d": "近 90 天"}
HEAT_BY = {"community": "社区/村", "grid": "网格", "unit": "属地（街道/镇）"}
HAZARDS = {"fire": "消防", "safety": "安全生产", "none": "一般"}
SOURCES = {"grid": "网格员", "hotline": "12345 热线", "inspection": "检查", "public": "群众"}


@router.get("/heat", response_class=HTMLResponse)
async def heat_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                    window: Annotated[str, Query(pattern="^(7d|30d|90d)$")] = "30d",
                    by: Annotated[HeatBy, Query()] = HeatBy.community,
                    matter: Annotated[str, Query(max_length=64)] = "",
                    hazard: Annotated[str, Query(pattern="^(|fire|safety|none)$")] = "",
                    rule: Annotated[str, Query(max_length=16)] = "",
                    source: Annotated[str, Query(pattern="^(|grid|hotline|inspection|public)$")] = "") -> HTMLResponse:
    """风险热力: a density picture of the window's reports and the communities ranked with their trend."""
    f = HeatFilter(matter=matter.strip(), hazard=hazard, rule=rule.strip(), source=source)
    view = await heat_view(deps, window=parse_window(window), by=by, f=f, cell=HEAT_CELL)
    tile_url = deps.settings.console_tile_url
    origin = tile_origin(tile_url)
    if origin:
        request.state.img_origins = (origin,)
    labels = [Label(g.key, *g.centre) for g in view.map.groups[:8] if g.centre and by is HeatBy.community]
    svg = density_svg(view.map.cells, view.map.cell_size, labels, tile_url=tile_url if origin else None)
    cat = await _catalogue(deps)
    return page("heat.html", request, caller, view=view, svg=svg, window=window, by=by, f=f,
                windows=HEAT_WINDOWS, bys=HEAT_BY, hazards=HAZARDS, sources=SOURCES, rules=board_store.RULES,
                matters={code: m.name for code, m in cat.matters.items()}, units=view.unit_names)


@router.get("/subjects", response_class=HTMLResponse)
async def subjects_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                        unit: Annotated[str | None, Query(max_length=64)] = None,
                        tier: Annotated[str | None, Query(pattern=r"^[A-D]?$")] = None,
                        q: Annotated[str | None, Query(max_length=100)] = None) -> HTMLResponse:
    """信用主体: subjects worst tier first, filtered by unit, tier and a search."""
    async with deps.db.sessions() as s:
        found = await list_subjects(s, unit=unit or None, tier=tier or None, q=q or None, limit=200)
    cat = await _catalogue(deps)
    return page("subjects.html", request, caller, subjects=found, f={"unit": unit or "", "tier": tier or "",
                                                                    "q": q or ""},
                units={code: u.name for code, u in cat.units.items()}, tier_names=TIER_NAMES)


@router.get("/subjects/{subject_id}", response_class=HTMLResponse)
async def subject_page(subject_id: str, request: Request, deps: DepsDep, caller: ConsoleCaller) -> HTMLResponse:
    """主体详情: its tier with the reasons that produced it, cases and outcomes, joint inspections; operators and
    administrators merge another subject into it."""
    return await _subject_page(subject_id, request, deps, caller)


async def _subject_page(subject_id: str, request: Request, deps: Deps, caller: Any, *, message: str | None = None,
                        error: str | None = None) -> HTMLResponse:
    async with deps.db.sessions() as s:
        view = await subject_view(s, subject_id)
    if view is None:
        raise Problem(404, "Subject not found", f"no subject {subject_id!r}")
    cat = await _catalogue(deps)
    return page("subject.html", request, caller, subject=view, names=department_names(cat),
                units={code: u.name for code, u in cat.units.items()}, tier_names=TIER_NAMES,
                triggers={t.id: t.name for t in cat.supervision.triggers},
                thresholds=cat.supervision.tiers.thresholds, message=message, error=error,
                may_merge=caller.role in MERGERS)


@router.post("/subjects/{subject_id}/merge", response_class=HTMLResponse)
async def merge_subject(subject_id: str, request: Request, deps: DepsDep, caller: ConsoleWriter,
                        other: Annotated[str, Form(min_length=1, max_length=16)],
                        reason: Annotated[str, Form(min_length=1, max_length=2000)]) -> HTMLResponse:
    """合并主体: `other` (the same shop under another name) merges into this subject; audited as the API's."""
    if caller.role not in MERGERS:
        raise Problem(403, "Forbidden", f"merging subjects needs the role operator or admin, not {caller.role}")
    try:
        async with deps.db.transaction() as s:
            await merge_subjects(s, deps, other.strip().upper(), subject_id, caller=caller, reason=reason,
                                 now=deps.now())
    except SubjectRefused as exc:
        return await _subject_page(subject_id, request, deps, caller, error=exc.detail)
    return await _subject_page(subject_id, request, deps, caller, message=f"已将主体 {other} 并入本主体")


@router.get("/scorecards", response_class=HTMLResponse)
async def scorecards_page(request: Request, deps: DepsDep, caller: ConsoleCaller,
                          month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None) -> HTMLResponse:
    """部门考核: the departments of a month ranked, with the monthly statement to download (this month so far by
    default)."""
    from tracker import statement  # the statement reads the console's department names: imported when used

    chosen = _month(month, deps)
    cards = await statement.scorecards(deps, chosen)
    months = [chosen.previous(), Month.of(deps.now())]
    return page("scorecards.html", request, caller, month=str(chosen), cards=cards.departments,
                months=sorted({str(m) for m in months if str(m) != str(chosen)}))


def _month(month: str | None, deps: Deps) -> Month:
    try:
        return Month.parse(month) if month else Month.of(deps.now())
    except ValueError as exc:
        raise Problem(422, "Invalid month", str(exc)) from exc


@router.get("/reports/monthly.{kind}")
async def statement_download(kind: str, deps: DepsDep, caller: ConsoleCaller,
                             month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")]) -> Response:
    """The monthly statement as the API serves it (GET /v1/reports/monthly.xlsx|.pdf), for a console session."""
    from tracker.api import reports

    if kind == "xlsx":
        return await reports.monthly_xlsx(deps, caller, month)
    if kind == "pdf":
        return await reports.monthly_pdf(deps, caller, month)
    raise Problem(404, "Not found", "the statement comes as monthly.xlsx or monthly.pdf")
