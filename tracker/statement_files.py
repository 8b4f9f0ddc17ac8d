"""The monthly statement as files: an XLSX workbook (openpyxl) and a PDF with its charts (fpdf2).

Both are laid out from the MonthlyStatement and nothing else, so a figure in them is the figure of the JSON
(GET /v1/reports/monthly). Chinese text needs a CJK font: Noto Sans CJK from Debian's fonts-noto-cjk
(`bash deploy/local/fonts.sh install`), or the file named by CASEROUTE_CJK_FONT.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from tracker.statement import MonthlyStatement, OnTimeRead

FONT_PATHS = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
              Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"))
# The .ttc holds JP, KR, SC, TC, HK in this order: SC draws the simplified forms the district writes.
TTC_SC = 2
REASONS = {"wrong_unit": "属地不符", "not_our_remit": "职能不符", "overlapping_remits": "职能交叉",
           "insufficient_information": "信息不全", "duplicate": "重复"}
SOURCES = {"grid": "网格员", "hotline": "12345热线", "app": "随手拍", "none": "未知"}
KINDS = {"ack_overdue": "超时未报到", "feedback_overdue": "超期未反馈"}
PDF_REPEAT_SUBJECTS = 40  # the most reported; the workbook lists them all


class FontMissing(RuntimeError):
    """No CJK font: the PDF cannot draw Chinese text."""


def cjk_font() -> Path:
    configured = os.environ.get("CASEROUTE_CJK_FONT")
    candidates = [Path(configured)] if configured else list(FONT_PATHS)
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissing(f"no CJK font at {', '.join(str(p) for p in candidates)}: install Debian's fonts-noto-cjk "
                      f"(bash deploy/local/fonts.sh install) or set CASEROUTE_CJK_FONT to a CJK .ttf/.otf/.ttc")


def percent(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def on_time(o: OnTimeRead) -> str:
    """`92.3% (12/13)`, pending apart: what was decided, and how many wait."""
    return f"{percent(o.value)} ({o.on_time}/{o.decided})"


def hours(seconds: float | None) -> str:
    return f"{seconds / 3600:.1f} h" if seconds is not None else "—"


def summary_rows(s: MonthlyStatement) -> list[tuple[str, str]]:
    f = s.figures
    success, accuracy = f.dispatch_success, f.first_dispatch_accuracy
    return [
        ("统计月份", s.month),
        ("收到案件", str(s.cases.received)),
        ("首次分拨案件", str(f.dispatched)),
        ("分拨成功率", f"{percent(success.value)} ({success.numerator}/{success.denominator}，待定 {success.pending})"),
        ("首次分拨准确率", f"{percent(accuracy.value)} ({accuracy.numerator}/{accuracy.denominator})"),
        ("报到用时 P50/P90", f"{hours(f.ack_seconds.get('p50'))} / {hours(f.ack_seconds.get('p90'))}"),
        ("反馈用时 P50/P90", f"{hours(f.feedback_seconds.get('p50'))} / {hours(f.feedback_seconds.get('p90'))}"),
        ("退单", str(sum(f.returns_by_reason.values()))),
        ("超期督办", str(sum(sum(k.values()) for k in f.overdue_by_department.values()))),
        ("空白事项（待裁决）", str(f.gaps)),
        ("目录新版本", str(len(s.catalogue_versions))),
        ("目录版本（生成时）", s.catalogue_version),
    ]


SCORE_HEAD = ("名次", "部门", "分拨", "按时报到", "待报到", "按时反馈", "待反馈", "退单", "退单成立", "退单被驳回",
              "再次派回", "报到中位(h)", "反馈中位(h)")


def score_cells(s: MonthlyStatement) -> list[tuple[str, ...]]:
    return [(str(c.rank), c.name, str(c.dispatched), on_time(c.ack_on_time), str(c.ack_on_time.pending),
             on_time(c.feedback_on_time), str(c.feedback_on_time.pending), str(c.returns), str(c.returns_upheld),
             str(c.returns_overturned), str(c.reopened), hours(c.median_ack_seconds).removesuffix(" h"),
             hours(c.median_feedback_seconds).removesuffix(" h")) for c in s.scorecards]


# --- XLSX -----------------------------------------------------------------------------------------------------

def to_xlsx(s: MonthlyStatement) -> bytes:
    """One sheet per section; figures as numbers (ratios as fractions with a percent format)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, head: Sequence[str], rows: Sequence[Sequence[object]], first: bool = False) -> None:
        ws = book.active if first else book.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(head))
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(list(row))
        for column in ws.columns:
            letter = column[0].column_letter
            ws.column_dimensions[letter].width = max(10, min(40, max(len(str(c.value or "")) for c in column) * 2))
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                ratio = "率" in str(ws.cell(1, cell.column).value)
                if ratio and isinstance(cell.value, float) and 0 <= cell.value <= 1:
                    cell.number_format = "0.0%"

    f = s.figures
    sheet("概要", ("项目", "值"), summary_rows(s), first=True)
    sheet("分拨成效", ("指标", "比率", "分子", "分母", "待定"), [
        ("分拨成功率", f.dispatch_success.value, f.dispatch_success.numerator, f.dispatch_success.denominator,
         f.dispatch_success.pending),
        ("首次分拨准确率", f.first_dispatch_accuracy.value, f.first_dispatch_accuracy.numerator,
         f.first_dispatch_accuracy.denominator, f.first_dispatch_accuracy.pending)])
    sheet("案件构成", ("维度", "值", "案件数"), [
        *(("来源", SOURCES.get(k, k), n) for k, n in s.cases.by_source.items()),
        *(("属地", k, n) for k, n in s.cases.by_unit.items()),
        *(("规则", k, n) for k, n in s.cases.by_rule.items()),
        *(("首派部门", s.names.get(k, k), n) for k, n in s.cases.by_department.items())])
    sheet("部门考核", ("名次", "部门代码", "部门", "分拨", "按时报到率", "按时报到", "已定报到", "待报到",
                   "按时反馈率", "按时反馈", "已定反馈", "待反馈", "退单", "退单成立", "退单被驳回", "改派", "待裁决",
                   "再次派回", "报到中位(秒)", "反馈中位(秒)"), [
        (c.rank, c.department, c.name, c.dispatched, c.ack_on_time.value, c.ack_on_time.on_time,
         c.ack_on_time.decided, c.ack_on_time.pending, c.feedback_on_time.value, c.feedback_on_time.on_time,
         c.feedback_on_time.decided, c.feedback_on_time.pending, c.returns, c.returns_upheld, c.returns_overturned,
         c.returns_rerouted, c.returns_awaiting, c.reopened, c.median_ack_seconds, c.median_feedback_seconds)
        for c in s.scorecards])
    sheet("超期督办", ("部门代码", "部门", "超时未报到", "超期未反馈"), [
        (d, s.names.get(d, d), k.get("ack_overdue", 0), k.get("feedback_overdue", 0))
        for d, k in sorted(s.escalations.items())])
    sheet("退单", ("原因代码", "原因", "退单", "裁决认可", "裁决驳回", "改派", "待裁决"), [
        (r.reason, REASONS.get(r.reason, r.reason), r.total, r.upheld, r.overturned, r.rerouted, r.awaiting)
        for r in s.returns])
    sheet("空白与新规则", ("版本", "上一版本", "发布人", "原因", "来自案件", "发布时间", "新增裁决规则"), [
        (v.version, v.parent, v.author, v.reason, v.from_case, v.published_at.isoformat(), ", ".join(v.rulings_added))
        for v in s.catalogue_versions])
    sheet("重复举报主体", ("主体编号", "名称", "地址", "属地", "信用等级", "本月案件"), [
        (r.subject_id, r.name, r.address, r.unit, r.tier, r.reports) for r in s.subjects.repeat_subjects])
    sheet("联合检查", ("检查案件", "主体编号", "主体", "触发条件", "原因", "开启时间", "牵头部门", "状态", "超期"), [
        (i.case_id, i.subject_id, i.subject_name, i.trigger, i.why, i.opened_at.isoformat(), s.names.get(
            i.lead or "", i.lead), i.status, i.overdue) for i in s.subjects.inspections])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF ------------------------------------------------------------------------------------------------------

def to_pdf(s: MonthlyStatement) -> bytes:
    """A4 pages: the summary, two charts (dispatches and ack on time per department), then the tables."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = cjk_font()
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", str(font), collection_font_number=TTC_SC if font.suffix.lower() == ".ttc" else 0)
    pdf.set_font("cjk", size=9)
    pdf.set_title(f"月度通报 {s.month}")
    head_style = FontFace(emphasis=None, fill_color=(227, 236, 247))

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("cjk", size=13)
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        pdf.ln(1)

    def table(head: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None = None) -> None:
        with pdf.table(col_widths=tuple(widths) if widths else None, headings_style=head_style,
                       line_height=5.5, text_align="LEFT") as t:
            for row in [head, *rows]:
                r = t.row()
                for value in row:
                    r.cell(str(value))

    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(text=f"基层治理事项分拨处置月度通报（{s.month}）", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(text=f"报送：区安委办　统计区间：{s.since.isoformat()} 至 {s.until.isoformat()}（不含）　"
                  f"生成：{s.produced_at.isoformat(timespec='seconds')}", new_x="LMARGIN", new_y="NEXT")
    heading("一、总体情况")
    table(("项目", "值"), summary_rows(s), (60, 140))

    pdf.add_page()
    heading("二、图表")
    top = s.scorecards[:15]
    bar_chart(pdf, "各部门分拨量（件）", [(c.name, float(c.dispatched)) for c in top], x=15, y=pdf.get_y() + 2,
              w=125, h=80, fmt=lambda v: f"{v:.0f}")
    bar_chart(pdf, "各部门按时报到率（%）", [(c.name, (c.ack_on_time.value or 0) * 100) for c in top], x=155,
              y=pdf.get_y() + 2, w=125, h=80, fmt=lambda v: f"{v:.1f}", top=100.0)
    pdf.set_y(pdf.get_y() + 100)

    pdf.add_page()
    heading("三、部门考核（按时报到率、按时反馈率排名；括号内为 按时/已定，待定另列）")
    table(SCORE_HEAD, score_cells(s), (10, 34, 12, 28, 13, 28, 13, 12, 16, 18, 16, 20, 20))
    heading("四、超期督办")
    table(("部门", "超时未报到", "超期未反馈"), [
        (s.names.get(d, d), str(k.get("ack_overdue", 0)), str(k.get("feedback_overdue", 0)))
        for d, k in sorted(s.escalations.items())] or [("无", "0", "0")], (80, 40, 40))
    heading("五、案件构成")
    table(("维度", "值", "案件数"), [
        *(("来源", SOURCES.get(k, k), str(n)) for k, n in s.cases.by_source.items()),
        *(("属地", k, str(n)) for k, n in s.cases.by_unit.items()),
        *(("规则", k, str(n)) for k, n in s.cases.by_rule.items()),
        *(("首派部门", s.names.get(k, k), str(n)) for k, n in s.cases.by_department.items())], (40, 80, 30))
    heading("六、退单及裁决结果")
    table(("原因", "退单", "裁决认可", "裁决驳回", "改派", "待裁决"), [
        (REASONS.get(r.reason, r.reason), str(r.total), str(r.upheld), str(r.overturned), str(r.rerouted),
         str(r.awaiting)) for r in s.returns], (50, 25, 25, 25, 25, 25))
    heading(f"七、空白事项与新规则（本月空白 {s.figures.gaps} 件）")
    table(("版本", "发布人", "原因", "新增裁决规则"), [
        (v.version, v.author, v.reason or "—", "、".join(v.rulings_added) or "—") for v in s.catalogue_versions]
        or [("本月无新版本", "—", "—", "—")], (60, 50, 110, 50))
    subjects = s.subjects
    heading(f"八、重复举报主体（{len(subjects.repeat_subjects)} 个）与联合检查（{len(subjects.inspections)} 次）")
    shown = subjects.repeat_subjects[:PDF_REPEAT_SUBJECTS]
    more = len(subjects.repeat_subjects) - len(shown)
    rest = f"下表列出案件最多的 {len(shown)} 个，其余 {more} 个见 XLSX。" if more else ""
    pdf.multi_cell(w=0, text=subjects.note + rest, new_x="LMARGIN", new_y="NEXT")
    table(("主体编号", "名称", "地址", "信用等级", "本月案件"), [
        (r.subject_id, r.name or "—", r.address or "—", r.tier, str(r.reports)) for r in shown]
        or [("本月无重复举报主体", "—", "—", "—", "—")], (35, 70, 95, 20, 20))
    table(("检查案件", "主体", "触发条件", "牵头部门", "状态"), [
        (i.case_id, i.subject_name or i.subject_id, i.trigger, s.names.get(i.lead or "", i.lead or "—"), i.status)
        for i in subjects.inspections] or [("本月无联合检查", "—", "—", "—", "—")], (45, 70, 40, 60, 30))
    return bytes(pdf.output())


def bar_chart(pdf: object, title: str, bars: Sequence[tuple[str, float]], *, x: float, y: float, w: float, h: float,
              fmt: object, top: float | None = None) -> None:
    """Horizontal bars drawn with the PDF's own lines and text: vector, and its labels stay searchable text."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF) and callable(fmt)
    pdf.set_xy(x, y)
    pdf.set_font("cjk", size=11)
    pdf.cell(text=title)
    pdf.set_font("cjk", size=8)
    if not bars:
        pdf.set_xy(x, y + 10)
        pdf.cell(text="本月无数据")
        return
    label_w, row_h = 38.0, min(8.0, (h - 10) / len(bars))
    most = top or max(v for _, v in bars) or 1.0
    for i, (label, value) in enumerate(bars):
        row_y = y + 10 + i * row_h
        pdf.set_xy(x, row_y)
        pdf.cell(w=label_w, h=row_h, text=label[:12])
        pdf.set_fill_color(21, 101, 192)
        length = (w - label_w - 16) * max(0.0, value) / most
        pdf.rect(x + label_w, row_y + row_h * 0.2, max(length, 0.3), row_h * 0.6, style="F")
        pdf.set_xy(x + label_w + length + 1, row_y)
        pdf.cell(h=row_h, text=fmt(value))
