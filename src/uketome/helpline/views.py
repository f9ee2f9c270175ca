"""Staff pages for contact records: the phone log, the list, the detail, escalations,
and the statistical export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from uketome.core.audit import audit_record
from uketome.core.dates import TOKYO
from uketome.core.permissions import (
    add_contact,
    decide_escalation,
    export_contacts,
    view_contact,
    view_escalations,
)
from uketome.helpline import selectors, services
from uketome.helpline.forms import (
    ContactFilterForm,
    ContactForm,
    EscalationDecisionForm,
    initial_started_at,
)
from uketome.helpline.models import Escalation, Line, TermKind
from uketome.helpline.taxonomy import current_version, terms


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


@login_required
def contact_new(request: HttpRequest) -> HttpResponse:
    """The phone log: one page, keyboard first, one request to save."""
    if not add_contact.test(request.user):
        raise Http404
    version = current_version()
    initial: dict[str, Any] = {
        "started_at": initial_started_at(),
        "risk_level": "none",
        "repeat": "unknown",
    }
    chosen = request.GET.get("line") or request.COOKIES.get("uketome_line", "")
    lines = list(Line.objects.filter(active=True))
    line = next((ln for ln in lines if str(ln.pk) == chosen), None) or next(
        (ln for ln in lines if "phone" in ln.channels), None
    )
    if line is not None:
        initial["line"] = line.pk
    form = ContactForm(request.POST or None, initial=initial, version=version)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user: Any = request.user
        try:
            contact = services.contact_record(
                actor=user,
                # Whoever took the contact records it.
                data=form.contact_data(site=selectors.home_site(user), listener=user),
            )
        except services.ContactError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            url = reverse("helpline:contact_detail", args=[contact.pk]) + "?saved=1"
            if _wants_json(request):
                response: HttpResponse = JsonResponse({"ok": True, "url": url, "id": contact.pk})
            else:
                response = redirect(url)
            response.set_cookie(
                "uketome_line", str(data["line"].pk), max_age=60 * 60 * 24 * 90, samesite="Lax"
            )
            return response
    if request.method == "POST" and _wants_json(request):
        return JsonResponse(
            {"ok": False, "errors": {k: [str(e) for e in v] for k, v in form.errors.items()}},
            status=400,
        )
    picked = set(request.POST.getlist("topics")) if request.method == "POST" else set()
    topic_options = [(t, t.code in picked) for t in terms(version, TermKind.TOPIC)]
    return render(
        request,
        "helpline/contact_form.html",
        {"form": form, "topic_options": topic_options},
        status=400 if form.errors else 200,
    )


def _filters(request: HttpRequest, version: Any) -> tuple[ContactFilterForm, Any]:
    form = ContactFilterForm(request.GET or None, version=version)
    filters = selectors.ContactFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.ContactFilters(
            line=data["line"].pk if data.get("line") else None,
            date_from=datetime.combine(data["date_from"], time.min, tzinfo=TOKYO)
            if data.get("date_from")
            else None,
            date_to=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=TOKYO)
            if data.get("date_to")
            else None,
            topic=data["topic"].pk if data.get("topic") else None,
            risk=data.get("risk"),
            escalated=bool(data.get("escalated")),
        )
    return form, filters


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    if not view_contact.test(request.user):
        raise Http404
    version = current_version()
    form, filters = _filters(request, version)
    after = selectors.Cursor.decode(request.GET.get("after", ""))
    page = selectors.contact_page(request.user, filters, after=after)
    query = request.GET.copy()
    query.pop("after", None)
    next_url = None
    if page.next_cursor:
        query["after"] = page.next_cursor.encode()
        next_url = "?" + query.urlencode()
    return render(
        request,
        "helpline/contact_list.html",
        {
            "form": form,
            "page": page,
            "next_url": next_url,
            "first_url": "?" + _without(request, "after") if after else None,
            "can_export": export_contacts.test(request.user),
            "can_add": add_contact.test(request.user),
            "export_query": _without(request, "after"),
        },
    )


def _without(request: HttpRequest, key: str) -> str:
    query = request.GET.copy()
    query.pop(key, None)
    return query.urlencode()


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_for_reading(request.user, pk, reason=request.GET.get("why", ""))
    escalation = getattr(contact, "escalation", None) if hasattr(contact, "escalation") else None
    return render(
        request,
        "helpline/contact_detail.html",
        {
            "contact": contact,
            "topics": contact.topics.all(),
            "feelings": contact.feelings.all(),
            "escalation": escalation,
            "can_decide": escalation is not None
            and decide_escalation.test(request.user, escalation),
            "saved": request.GET.get("saved") == "1",
        },
    )


@login_required
def escalation_list(request: HttpRequest) -> HttpResponse:
    if not view_escalations.test(request.user):
        raise Http404
    now = timezone.now()
    rows = []
    for escalation in selectors.open_escalations_visible_to(request.user)[:200]:
        limit = timedelta(minutes=escalation.contact.line.escalation_limit_minutes)
        rows.append((escalation, now - escalation.raised_at > limit))
    return render(request, "helpline/escalation_list.html", {"rows": rows, "now": now})


@login_required
def escalation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = (
        Escalation.objects.select_related("contact__site", "contact__line", "contact__risk_level")
        .filter(pk=pk)
        .first()
    )
    if escalation is None or not decide_escalation.test(request.user, escalation):
        audit_record(actor=request.user, action="escalation.open_denied", data={"escalation": pk})
        raise Http404
    form = EscalationDecisionForm(request.POST or None, version=escalation.contact.taxonomy)
    if request.method == "POST" and form.is_valid():
        try:
            services.escalation_decide(
                actor=request.user,
                escalation=escalation,
                action=form.cleaned_data["action"],
                to_whom=form.cleaned_data["to_whom"],
                acted_at=form.cleaned_data["acted_at"],
                note=form.cleaned_data["note"],
            )
        except services.ContactError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            return redirect("helpline:contact_detail", pk=escalation.contact_id)
    return render(
        request,
        "helpline/escalation_decide.html",
        {"escalation": escalation, "form": form},
        status=400 if form.errors else 200,
    )


HEADERS = [
    "ID",
    "窓口",
    "方法",
    "拠点",
    "開始",
    "終了",
    "時間(秒)",
    "結果",
    "年代",
    "性別",
    "学年",
    "初回/リピート",
    "事柄",
    "気持ち",
    "主訴",
    "関係性",
    "環境",
    "リスク",
    "緊急対応",
    "分類の版",
]


def _export_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value, TOKYO).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


@login_required
@require_GET
def contact_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """CSV (UTF-8 with BOM, so Excel opens it) or Excel; statistical fields only."""
    if not export_contacts.test(request.user):
        raise Http404
    _form, filters = _filters(request, current_version())
    audit_record(
        actor=request.user,
        action="contact.exported",
        data={"format": fmt, "filters": request.GET.dict()},
    )
    rows = selectors.export_rows(request.user, filters)
    stamp = timezone.localtime(timezone.now(), TOKYO).strftime("%Y%m%d-%H%M")
    if fmt == "csv":

        def stream() -> Any:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            yield "\ufeff"
            writer.writerow(HEADERS)
            for row in rows:
                writer.writerow([_export_cell(v) for v in row])
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        streaming = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in stream()), content_type="text/csv; charset=utf-8"
        )
        streaming["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.csv"'
        return streaming
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Contacts"))
        sheet.append(HEADERS)
        for row in rows:
            sheet.append([_export_cell(v) for v in row])
        out = io.BytesIO()
        book.save(out)
        response: HttpResponse = HttpResponse(
            out.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.xlsx"'
        return response
    raise Http404
