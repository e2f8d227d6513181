"""Risk reports: HTML (Jinja2) and PDF (xhtml2pdf) per account or organisation, stored in
the object store and listed on the API. Daily reports run once per UTC day after
`report_hour_utc:report_minute_utc`; the (scope, key, day) check makes a restart or a
second instance skip what is already there.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape

from argosy.contracts.v1.risk import ReportOut, ReportRequest
from argosy.kernel.errors import Invalid, NotFound, Unavailable
from argosy.kernel.ids import new_id
from argosy.services.risk.domain.measures import NS_PER_DAY
from argosy.services.risk.models import ReportRow
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.service.exposure import ExposureService

__all__ = ["ReportsService", "render_pdf"]

log = structlog.get_logger("argosy.risk.reports")
_NS_PER_MS = 1_000_000
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def render_pdf(html: str) -> bytes:
    """CPU-bound; run it in a thread."""
    from xhtml2pdf import pisa  # type: ignore[import-untyped]  # heavy import, only when a report is made

    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise Unavailable(f"PDF rendering failed ({result.err} errors)", dependency="xhtml2pdf")
    return out.getvalue()


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def report_out(row: ReportRow) -> ReportOut:
    return ReportOut(
        report_id=row.id, scope=row.scope, key=row.key,
        kind=row.kind,
        html_key=row.html_key, pdf_key=row.pdf_key, created_at_ms=row.created_ns // _NS_PER_MS,
    )  # fmt: skip


class ReportsService:
    def __init__(self, deps: Deps, exposure: ExposureService) -> None:
        self.d, self.exposure = deps, exposure

    async def create(self, c: Caller, req: ReportRequest) -> ReportOut:
        c.require("risk:read")
        key = req.key or (c.org if req.scope == "org" else None)
        if key is None:
            raise Invalid("give the account id or organisation as key", field="key")
        return await self._make(c, req.scope, key, "on_demand", None)

    async def _make(
        self, c: Caller, scope: Literal["account", "org"], key: str,
        kind: Literal["daily", "on_demand"], day: int | None,
    ) -> ReportOut:  # fmt: skip
        if self.d.objects is None:
            raise Unavailable("no object store configured", dependency="objects")
        x = await self.exposure.exposure(c, scope, key)
        org = key if scope == "org" else (self.exposure.rt.book.owner(key) or c).org or "*"
        async with self.d.db.read() as s:
            alerts = await self.d.store.alerts(s, org, None, 50)
        now = self.d.now()
        html = _ENV.get_template("report.html.j2").render(
            scope=scope, key=key, kind=kind.replace("_", "-"), generated=_iso(now),
            rules_version=self.d.rules.version, x=x,
            alerts=[
                {"at": _iso(a.at_ns), "severity": a.severity, "kind": a.kind,
                 "message": a.message}
                for a in alerts if scope == "org" or a.account_id in (None, key)
            ],
        )  # fmt: skip
        report_id = new_id("rrp")
        base = f"reports/{scope}/{key}/{report_id}"
        await self.d.objects.put(
            f"{base}.html", html.encode(), content_type="text/html; charset=utf-8"
        )
        pdf_key = None
        if self.d.settings.pdf_reports:
            pdf = await asyncio.to_thread(render_pdf, html)
            pdf_key = f"{base}.pdf"
            await self.d.objects.put(pdf_key, pdf, content_type="application/pdf")
        row = ReportRow(
            id=report_id, org_id=org, scope=scope, key=key, kind=kind, day=day,
            html_key=f"{base}.html", pdf_key=pdf_key, created_ns=now,
        )  # fmt: skip
        async with self.d.db.transaction() as s:
            s.add(row)
        return report_out(row)

    async def list(
        self, c: Caller, scope: str | None, key: str | None, limit: int
    ) -> list[ReportOut]:
        c.require("risk:read")
        async with self.d.db.read() as s:
            rows = await self.d.store.reports(s, c.org, scope, key, limit)
        return [report_out(r) for r in rows]

    async def content(self, c: Caller, report_id: str, fmt: str) -> tuple[bytes, str]:
        c.require("risk:read")
        async with self.d.db.read() as s:
            row = await self.d.store.report(s, report_id, c.org)
        if row is None or self.d.objects is None:
            raise NotFound("no such report", field="report_id")
        key = row.pdf_key if fmt == "pdf" else row.html_key
        if key is None:
            raise NotFound("this report has no PDF", field="format")
        media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
        return await self.d.objects.get(key), media

    async def daily(self, operator: Caller) -> int:
        """Today's reports for every account and organisation not reported yet."""
        day = self.d.now() // NS_PER_DAY
        book = self.exposure.rt.book
        made = 0
        targets: list[tuple[Literal["account", "org"], str]] = [
            ("account", a) for a in book.accounts()
        ]
        owners = [book.owner(a) for a in book.accounts()]
        targets += [("org", org) for org in sorted({o.org for o in owners if o is not None})]
        for scope, key in targets:
            async with self.d.db.read() as s:
                if await self.d.store.daily_report_exists(s, scope, key, day):
                    continue
            try:
                await self._make(operator, scope, key, "daily", day)
                made += 1
            except Exception:
                log.warning("risk.daily_report_failed", scope=scope, key=key, exc_info=True)
        return made

    async def daily_loop(self, operator: Caller) -> None:
        s = self.d.settings
        while True:
            now = datetime.fromtimestamp(self.d.now() / 1e9, UTC)
            due = now.replace(hour=s.report_hour_utc, minute=s.report_minute_utc, second=0)
            if s.daily_reports and now >= due:
                await self.daily(operator)
            await asyncio.sleep(60)
