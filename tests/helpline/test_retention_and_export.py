"""Retention removes the narrative and keeps the statistics; exports never carry
narrative, open in Excel, and are audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact, Escalation


def test_retention_removes_narrative_and_keeps_statistics(
    recorded: Callable[..., Contact], lines: Any
) -> None:
    old = recorded(summary="古い相談", risk="high", minutes_ago=60 * 24 * 400)
    Escalation.objects.filter(contact=old).update(decision_note="判断メモ")
    recent = recorded(summary="新しい相談", minutes_ago=60)
    out = io.StringIO()
    call_command("retention", dry_run=True, stdout=out)
    assert "childline: would remove the narrative of 1 contacts" in out.getvalue()
    assert Contact.objects.get(pk=old.pk).summary == "古い相談"

    call_command("retention", stdout=io.StringIO())
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.summary is None and old.notes is None
    assert old.narrative_removed_at is not None
    assert Escalation.objects.get(contact=old).decision_note is None
    # The statistical record stays whole.
    assert old.outcome.code == "conversation"  # type: ignore[union-attr]
    assert list(old.topics.values_list("code", flat=True)) == ["human_relations"]
    assert old.risk_rank == 2 and old.age_band is not None
    assert recent.summary == "新しい相談"
    runs = AuditEntry.objects.filter(action__in=["retention.run", "retention.dry_run"])
    assert runs.count() == 2
    assert runs.get(action="retention.run").data["removed"]["childline"] == 1


def test_retention_is_a_daily_scheduled_job(db: Any) -> None:
    from datetime import datetime

    from django_tasks_db.models import DBTaskResult

    from uketome.core.dates import TOKYO
    from uketome.core.schedule import enqueue_due

    early = datetime(2026, 11, 26, 2, 0, tzinfo=TOKYO)
    assert enqueue_due(early) == []
    at_three = datetime(2026, 11, 26, 3, 5, tzinfo=TOKYO)
    assert enqueue_due(at_three) == ["retention"]
    # Once a day, whoever asks (later jobs of the night come due meanwhile).
    assert "retention" not in enqueue_due(at_three + timedelta(minutes=30))
    assert DBTaskResult.objects.filter(task_path__endswith="run_retention").count() == 1


def test_csv_export_has_a_bom_and_no_narrative(
    recorded: Callable[..., Contact],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    recorded(summary="SECRET-NARRATIVE", topics=["bullying", "school"], risk="watch")
    client = sign_in(personas["secretariat"])
    response = client.get("/staff/contacts/export.csv")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "SECRET-NARRATIVE" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["ID", "窓口", "方法"]
    assert rows[1][1] == "チャイルドラインMIE"
    assert rows[1][12] == "いじめ、学校" or set(rows[1][12].split("、")) == {"いじめ", "学校"}
    assert rows[1][17] == "注意"
    entry = AuditEntry.objects.get(action="contact.exported")
    assert entry.actor_label == "secretariat" and entry.data["format"] == "csv"


def test_excel_export_reads_back(
    recorded: Callable[..., Contact],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    for _ in range(3):
        recorded(summary="SECRET")
    recorded(outcome="silent", topics=[])
    response = sign_in(personas["secretariat"]).get("/staff/contacts/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(values) == 5
    assert values[0][0] == "ID"
    outcomes = sorted(str(row[7]) for row in values[1:])
    assert outcomes == ["会話成立", "会話成立", "会話成立", "無言"]
    assert not any("SECRET" in str(cell) for row in values for cell in row)


def test_list_filters_and_keyset_pages(
    recorded: Callable[..., Contact],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    made = [recorded(minutes_ago=100 + i) for i in range(55)]
    risky = recorded(risk="urgent", topics=["suicide_self_harm"], minutes_ago=5)
    client = sign_in(personas["secretariat"])
    first = client.get("/staff/contacts/").content.decode()
    assert f'/staff/contacts/{risky.pk}/"' in first
    assert 'rel="next"' in first
    next_href = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get("/staff/contacts/" + next_href.replace("&amp;", "&")).content.decode()
    shown_first = {c.pk for c in made if f'/staff/contacts/{c.pk}/"' in first}
    shown_second = {c.pk for c in made if f'/staff/contacts/{c.pk}/"' in second}
    assert len(shown_first) == 49 and len(shown_second) == 6
    assert not shown_first & shown_second
    only_risky = client.get("/staff/contacts/?risk=3").content.decode()
    assert f'/staff/contacts/{risky.pk}/"' in only_risky
    assert not any(f'/staff/contacts/{c.pk}/"' in only_risky for c in made)
    topic = client.get(f"/staff/contacts/?topic={_topic_pk('suicide_self_harm')}").content.decode()
    assert f'/staff/contacts/{risky.pk}/"' in topic
    escalated = client.get("/staff/contacts/?escalated=on").content.decode()
    assert f'/staff/contacts/{risky.pk}/"' in escalated
    today = timezone.localdate().isoformat()
    bad = client.get(f"/staff/contacts/?date_from={today}&date_to=2000-01-01")
    assert bad.status_code == 200
    assert "終了日が開始日より前" in bad.content.decode()


def _topic_pk(code: str) -> int:
    from uketome.helpline.models import TaxonomyTerm

    return TaxonomyTerm.objects.get(kind="topic", code=code, version__is_current=True).pk


def test_pages_merge_every_way_a_contact_is_visible(
    recorded: Callable[..., Contact],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """A supporter sees the site's contacts and those they supported elsewhere: the pages
    walk both in time order, each contact once."""
    at_site = [recorded(site="tsu", minutes_ago=100 + 2 * i) for i in range(30)]
    supported = []
    for i in range(30):
        contact = recorded(site="suzuka", minutes_ago=101 + 2 * i)
        Contact.objects.filter(pk=contact.pk).update(supporter=personas["supporter_tsu"])
        supported.append(contact)
    elsewhere = recorded(site="suzuka", minutes_ago=50)  # not theirs
    client = sign_in(personas["supporter_tsu"])
    seen: list[int] = []
    url = "/staff/contacts/"
    while url:
        page = client.get(url).content.decode()
        body = page.split("<tbody>")[1].split("</tbody>")[0]
        seen += [int(part.split("/")[0]) for part in body.split('href="/staff/contacts/')[1:]]
        url = (
            "/staff/contacts/" + page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            if 'rel="next"' in page
            else ""
        ).replace("&amp;", "&")
    expected = sorted(at_site + supported, key=lambda c: (c.started_at, c.pk), reverse=True)
    assert seen == [c.pk for c in expected]
    assert elsewhere.pk not in seen
