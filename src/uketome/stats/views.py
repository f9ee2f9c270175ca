"""Staff pages: the statistics, their downloads, and the annual report with its editor.

Only the secretariat and government partners reach them (anyone else gets 404).
Government partners always get suppressed figures; the annual report is a publication,
so it is suppressed for everyone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from uketome.core.audit import audit_record
from uketome.core.dates import fiscal_year_label
from uketome.core.permissions import edit_report
from uketome.stats import exports, selectors, services
from uketome.stats.charts import chart_for
from uketome.stats.forms import SectionForm, StatsFilterForm
from uketome.stats.selectors import FIRST_YEAR, LAST_YEAR, Report, StatsFilters


def _allowed(request: HttpRequest) -> None:
    if not selectors.can_view(request.user):
        raise Http404


def _report_from(request: HttpRequest) -> tuple[StatsFilterForm, Report | None]:
    exact_allowed = selectors.sees_exact(request.user)
    form = StatsFilterForm(request.GET or None, exact_allowed=exact_allowed)
    if form.is_bound and not form.is_valid():
        return form, None
    published = not exact_allowed or form.wants_published()
    return form, selectors.build_report(form.filters(), published=published)


def _with_charts(report: Report | None) -> list[tuple[Any, Any]]:
    if report is None:
        return []
    return [(table, chart_for(table)) for table in report.tables]


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form, report = _report_from(request)
    query = request.GET.urlencode()
    return render(
        request,
        "stats/index.html",
        {
            "form": form,
            "report": report,
            "tables": _with_charts(report),
            "query": query,
            "years": selectors.years_with_data(),
            "can_edit": edit_report.test(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    _allowed(request)
    if fmt not in {"xlsx", "csv"}:
        raise Http404
    _form, report = _report_from(request)
    if report is None:
        return redirect(reverse("stats:index") + "?" + request.GET.urlencode())
    audit_record(
        actor=request.user,
        action="stats.exported",
        data={
            "format": fmt,
            "year": report.filters.year,
            "line": report.filters.line,
            "site": report.filters.site,
            "published": report.published,
        },
    )
    name = f"uketome-stats-{report.filters.year}{'' if report.published else '-exact'}"
    if fmt == "xlsx":
        response = HttpResponse(
            exports.workbook(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(exports.csv_bytes(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404
    return year


@login_required
@require_GET
def annual_report(request: HttpRequest, year: int) -> HttpResponse:
    """The printable annual report (A4): always the published, suppressed figures."""
    _allowed(request)
    year = _year(year)
    report = selectors.build_report(StatsFilters(year=year), published=True)
    return render(
        request,
        "stats/annual_report.html",
        {
            "report": report,
            "year": year,
            "year_label": fiscal_year_label(year),
            "tables": _with_charts(report),
            "sections": selectors.report_sections(year),
            "can_edit": edit_report.test(request.user),
        },
    )


@login_required
def section_edit(request: HttpRequest, year: int, key: str) -> HttpResponse:
    if not edit_report.test(request.user):
        raise Http404
    year = _year(year)
    sections = {s.key: s for s in selectors.report_sections(year)}
    section = sections.get(key)
    if section is None:
        raise Http404
    form = SectionForm(
        request.POST or None, initial={"body": section.body, "base_revision": section.revision}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.section_save(
                actor=request.user,
                year=year,
                key=key,
                body=form.cleaned_data["body"],
                base_revision=form.cleaned_data.get("base_revision"),
            )
        except services.EditConflict as error:
            # Keep what was typed; the next save goes on top of the newest version shown.
            section = selectors.report_sections(year)[list(sections).index(key)]
            form = SectionForm(
                {"body": request.POST.get("body", ""), "base_revision": section.revision or ""}
            )
            form.is_valid()
            form.add_error("body", str(error))
        except services.ReportError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            return redirect(reverse("stats:annual_report", args=[year]) + f"#section-{key}")
    return render(
        request,
        "stats/section_edit.html",
        {
            "form": form,
            "section": section,
            "year": year,
            "year_label": fiscal_year_label(year),
            "history": selectors.section_history(year, key),
            "newest": section,
        },
        status=400 if form.errors else 200,
    )
