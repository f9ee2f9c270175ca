"""Writes on children's letters: sending, writing again, unlocking with the secret,
claiming, drafting, approving, finishing.

Only approved replies ever reach the child (see ``selectors.letters_for_child``). Every
staff action is audited; an alert goes to the supervisors signed in when a letter shows
high or urgent risk (after commit).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from uketome.accounts.roles import Role
from uketome.core.audit import audit_record
from uketome.core.events import publish_on_commit, site_supervisors_group
from uketome.core.permissions import scope_of
from uketome.helpline.models import Audience, Channel, Contact, Line, TaxonomyTerm, TermKind
from uketome.helpline.services import ContactData, contact_record
from uketome.helpline.taxonomy import current_version
from uketome.mail import secrets
from uketome.mail.models import (
    OPEN_REPLY_STATES,
    Author,
    Letter,
    LetterThread,
    MailSettings,
    ReplyState,
    ThreadStatus,
)
from uketome.triage import assess

logger = logging.getLogger(__name__)

MAX_LETTER_CHARS = 3000
MAX_REPLY_CHARS = 6000
MAX_COMMENT_CHARS = 2000
# A letter number locks after this many wrong secrets in a row, for LOCK_MINUTES.
LOCK_AFTER = 5
LOCK_MINUTES = 30
CONTACT_NAMESPACE = uuid.UUID("0f6c3a52-5a7e-4d55-9a36-6c1b0b7f1e21")


class MailError(ValueError):
    """Something that cannot be done as asked; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WrongKey(MailError):
    """The number and secret do not open a letter (a wrong secret or an unknown number:
    the same answer either way)."""


class LetterLocked(MailError):
    """Too many wrong secrets for this number: wait and try again."""


class AlreadySent(MailError):
    """The same letter (the same form) was sent before."""


# --- Lines and settings ---------------------------------------------------------------


def mail_lines() -> list[Line]:
    """The active children's lines that take letters."""
    return [
        line
        for line in Line.objects.filter(active=True, audience=Audience.CHILDREN)
        if Channel.MAIL in (line.channels or [])
    ]


def settings_for(line: Line) -> MailSettings:
    """The line's mail settings (made with the defaults the first time)."""
    found, _created = MailSettings.objects.get_or_create(line=line)
    return found


def reply_due(line: Line, since: datetime | None) -> datetime | None:
    if since is None or not line.reply_target_hours:
        return None
    return since + timedelta(hours=line.reply_target_hours)


# --- The child's side -----------------------------------------------------------------


def _clean_body(body: str, *, limit: int = MAX_LETTER_CHARS) -> str:
    text = (body or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        raise MailError(_("Please write your letter."), "body")
    if len(text) > limit:
        raise MailError(
            _(
                "Your letter is too long (%(count)s characters). Please make it shorter "
                "than %(limit)s characters, or send it in two letters."
            )
            % {"count": len(text), "limit": limit},
            "body",
        )
    return text


RISK_LEVELS = ("none", "watch", "high", "urgent")


@dataclass(frozen=True)
class Risk:
    """What the triage found in a letter (``level`` is a taxonomy risk-level code)."""

    level: str = "none"
    score: int = 0
    categories: tuple[str, ...] = ()
    alert: bool = False

    @property
    def rank(self) -> int:
        return RISK_LEVELS.index(self.level) if self.level in RISK_LEVELS else 0


def _assess(text: str) -> Risk:
    """The triage's reading of a letter. A failing triage never loses a child's letter."""
    try:
        found = assess(text)
    except Exception:
        logger.exception("risk triage failed; the letter is kept without a risk level")
        return Risk()
    level = found.level if found.level in RISK_LEVELS else "none"
    return Risk(
        level=level,
        score=int(found.score or 0),
        categories=tuple(found.categories or ()),
        alert=bool(found.alert),
    )


def _risk_term(level: str) -> TaxonomyTerm | None:
    return TaxonomyTerm.objects.filter(
        version=current_version(), kind=TermKind.RISK_LEVEL, code=level
    ).first()


@dataclass(frozen=True)
class NewLetter:
    """What a child sends with the first letter."""

    line: Line
    body: str
    age_band: str = ""
    gender: str = ""
    topics: tuple[str, ...] = ()
    notify_address: str = ""
    client_ref: uuid.UUID | None = None


@dataclass(frozen=True)
class Sent:
    thread: LetterThread
    secret: str  # shown once, never stored


def _terms_by_code(kind: str, codes: Iterable[str]) -> list[TaxonomyTerm]:
    wanted = [c for c in codes if c]
    if not wanted:
        return []
    return list(TaxonomyTerm.objects.filter(version=current_version(), kind=kind, code__in=wanted))


def _check_new(data: NewLetter) -> tuple[str, str]:
    if data.line.audience != Audience.CHILDREN or Channel.MAIL not in (data.line.channels or []):
        raise MailError(_("Please choose where to send your letter."), "line")
    body = _clean_body(data.body)
    address = (data.notify_address or "").strip()
    if address:
        if not settings_for(data.line).notification_allowed:
            address = ""
        else:
            try:
                validate_email(address)
            except ValidationError:
                raise MailError(
                    _("This email address does not look right. Please check it."),
                    "notify_address",
                ) from None
    return body, address


def letter_send(*, data: NewLetter) -> Sent:
    """A child's first letter: a new thread with a number and a secret (shown once)."""
    if data.client_ref is not None and Letter.objects.filter(client_ref=data.client_ref).exists():
        raise AlreadySent(_("This letter was sent already."))
    body, address = _check_new(data)
    assessment = _assess(body)
    risk = _risk_term(assessment.level)
    secret = secrets.new_secret()
    secret_hash = secrets.hash_secret(secret)
    now = timezone.now()
    version = current_version()
    singles = {
        TermKind.AGE_BAND: _terms_by_code(TermKind.AGE_BAND, [data.age_band]),
        TermKind.GENDER: _terms_by_code(TermKind.GENDER, [data.gender]),
    }
    for attempt in range(5):
        try:
            with transaction.atomic():
                thread = LetterThread.objects.create(
                    line=data.line,
                    number=secrets.new_number(),
                    secret_hash=secret_hash,
                    status=ThreadStatus.WAITING,
                    taxonomy=version,
                    age_band=next(iter(singles[TermKind.AGE_BAND]), None),
                    gender=next(iter(singles[TermKind.GENDER]), None),
                    risk_level=risk,
                    risk_rank=assessment.rank,
                    waiting_since=now,
                    notify_address=address or None,
                )
                thread.topics.set(_terms_by_code(TermKind.TOPIC, data.topics))
                Letter.objects.create(
                    thread=thread,
                    author=Author.CHILD,
                    body=body,
                    client_ref=data.client_ref,
                    risk_level=risk,
                    risk_score=assessment.score,
                    risk_categories=list(assessment.categories),
                )
                audit_record(
                    actor=None,
                    action="letter.received",
                    target=thread,
                    data={"line": data.line.pk, "risk": assessment.level, "first": True},
                )
                if assessment.alert:
                    _alert_supervisors(thread, risk)
        except IntegrityError:
            if data.client_ref is not None and (
                Letter.objects.filter(client_ref=data.client_ref).exists()
            ):
                raise AlreadySent(_("This letter was sent already.")) from None
            if attempt == 4:
                raise
            continue  # the random number was taken: draw another
        return Sent(thread=thread, secret=secret)
    raise AssertionError("unreachable")


def letter_add(*, thread: LetterThread, body: str, client_ref: uuid.UUID | None = None) -> Letter:
    """A child writes again in the same thread."""
    if client_ref is not None:
        existing = Letter.objects.filter(client_ref=client_ref).first()
        if existing is not None:
            if existing.thread_id != thread.pk:
                raise AlreadySent(_("This letter was sent already."))
            return existing
    if thread.status == ThreadStatus.CLOSED:
        raise MailError(
            _("This exchange of letters has ended. You can write a new letter."), "body"
        )
    text = _clean_body(body)
    assessment = _assess(text)
    risk = _risk_term(assessment.level)
    now = timezone.now()
    with transaction.atomic():
        locked = LetterThread.objects.select_for_update().get(pk=thread.pk)
        if client_ref is not None:
            # A retry that waited for the lock while the first try was stored.
            stored = Letter.objects.filter(client_ref=client_ref, thread=locked).first()
            if stored is not None:
                return stored
        if locked.status == ThreadStatus.CLOSED:
            raise MailError(
                _("This exchange of letters has ended. You can write a new letter."), "body"
            )
        letter = Letter.objects.create(
            thread=locked,
            author=Author.CHILD,
            body=text,
            client_ref=client_ref,
            risk_level=risk,
            risk_score=assessment.score,
            risk_categories=list(assessment.categories),
        )
        if locked.status != ThreadStatus.WAITING:
            locked.status = ThreadStatus.WAITING
            locked.waiting_since = now
        if assessment.rank > locked.risk_rank:
            locked.risk_rank = assessment.rank
            locked.risk_level = risk
        locked.save(
            update_fields=["status", "waiting_since", "risk_rank", "risk_level", "updated_at"]
        )
        audit_record(
            actor=None,
            action="letter.received",
            target=locked,
            data={"line": locked.line_id, "risk": assessment.level, "first": False},
        )
        if assessment.alert:
            _alert_supervisors(locked, risk)
    thread.refresh_from_db()
    return letter


def _alert_groups(thread: LetterThread) -> list[str]:
    sites = sorted(
        MailSettings.sites.through.objects.filter(mailsettings__line_id=thread.line_id).values_list(
            "site_id", flat=True
        )
    )
    if not sites:
        return [site_supervisors_group(None)]
    return [site_supervisors_group(site) for site in sites]


def _alert_supervisors(thread: LetterThread, risk: TaxonomyTerm | None) -> None:
    """``mail.letter_at_risk`` to the supervisors who answer the line (the staff pages'
    live banner shows it and links to ``url``). Never the child's words."""
    payload = {
        "letter": thread.pk,
        "url": reverse("mail:thread", args=[thread.pk]),
        "risk": risk.label if risk is not None else "",
        "rank": risk.rank if risk is not None else 0,
        "line": thread.line.name,
        "site": "",
    }
    for group in _alert_groups(thread):
        publish_on_commit(group, "mail.letter_at_risk", payload)


# --- Opening a thread with number and secret ------------------------------------------


def _key(number: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), number.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _cache_names(number: str) -> tuple[str, str]:
    key = _key(number)
    return f"uketome:mail:fails:{key}", f"uketome:mail:lock:{key}"


def _count_failure(number: str, thread: LetterThread | None, now: datetime) -> None:
    """One more wrong secret for ``number``; locks it after LOCK_AFTER in a row.

    Counted in the cache for every number (so an unknown number locks the same way) and,
    for a real letter, in the database too (so a restart does not unlock it).
    """
    fails_name, lock_name = _cache_names(number)
    seconds = LOCK_MINUTES * 60
    cache.add(fails_name, 0, timeout=seconds)
    try:
        fails = cache.incr(fails_name)
    except ValueError:
        cache.set(fails_name, 1, timeout=seconds)
        fails = 1
    db_fails = 0
    if thread is not None:
        LetterThread.objects.filter(pk=thread.pk).update(failed_tries=F("failed_tries") + 1)
        db_fails = (
            LetterThread.objects.filter(pk=thread.pk).values_list("failed_tries", flat=True).first()
            or 0
        )
    if max(fails, db_fails) >= LOCK_AFTER:
        cache.set(lock_name, 1, timeout=seconds)
        cache.delete(fails_name)
        if thread is not None:
            with transaction.atomic():
                LetterThread.objects.filter(pk=thread.pk).update(
                    failed_tries=0, locked_until=now + timedelta(seconds=seconds)
                )
                audit_record(actor=None, action="letter.locked", target=thread)


def thread_unlock(*, number: str, secret: str) -> LetterThread:
    """The thread that ``number`` and ``secret`` open.

    Raises ``WrongKey`` for a wrong secret and for a number that does not exist (the same
    answer, after the same argon2 work) and ``LetterLocked`` after too many wrong tries.
    """
    digits = secrets.clean_number(number)
    thread = (
        LetterThread.objects.select_related("line").filter(number=digits).first()
        if len(digits) == secrets.NUMBER_DIGITS
        else None
    )
    now = timezone.now()
    fails_name, lock_name = _cache_names(digits)
    locked = bool(cache.get(lock_name)) or bool(
        thread is not None and thread.locked_until is not None and thread.locked_until > now
    )
    if locked:
        secrets.check_secret(secret, None)
        raise LetterLocked(
            _(
                "You tried many times, so this letter number is resting for a while. "
                "Please try again after %(minutes)s minutes."
            )
            % {"minutes": LOCK_MINUTES}
        )
    if thread is not None and secrets.check_secret(secret, thread.secret_hash):
        if thread.failed_tries or thread.locked_until:
            LetterThread.objects.filter(pk=thread.pk).update(failed_tries=0, locked_until=None)
            thread.failed_tries, thread.locked_until = 0, None
        cache.delete(fails_name)
        return thread
    if thread is None:
        secrets.check_secret(secret, None)  # the same argon2 work as for a real letter
    _count_failure(digits, thread, now)
    raise WrongKey(
        _("The letter number or the secret words are not right. Please check them and try again.")
    )


# --- Staff ----------------------------------------------------------------------------


def _site_for(actor: Any, line: Line) -> int | None:
    scope = scope_of(actor)
    mine = scope.sites_for([Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR])
    answering = set(
        MailSettings.sites.through.objects.filter(mailsettings__line=line).values_list(
            "site_id", flat=True
        )
    )
    both = sorted(mine & answering) or sorted(mine)
    return both[0] if both else None


def thread_claim(*, actor: Any, thread: LetterThread) -> bool:
    """Take a letter to answer. One conditional update: of two listeners who click at the
    same moment, one gets it and the other is told it was taken."""
    now = timezone.now()
    with transaction.atomic():
        taken = (
            LetterThread.objects.filter(pk=thread.pk, claimed_by__isnull=True)
            .exclude(status=ThreadStatus.CLOSED)
            .update(claimed_by=actor, claimed_at=now, site_id=_site_for(actor, thread.line))
        )
        if taken:
            audit_record(actor=actor, action="letter.claimed", target=thread)
    thread.refresh_from_db()
    return bool(taken)


def open_reply(thread: LetterThread) -> Letter | None:
    return thread.letters.filter(author=Author.STAFF, state__in=OPEN_REPLY_STATES).first()


def reply_save(*, actor: Any, thread: LetterThread, body: str, submit: bool) -> Letter:
    """Save the reply draft of the listener who took the letter; ``submit`` sends it for
    approval."""
    if thread.claimed_by_id != actor.pk:
        raise MailError(_("Only the person who took this letter writes its reply."))
    if thread.status == ThreadStatus.CLOSED:
        raise MailError(_("This thread is finished."))
    text = (body or "").replace("\r\n", "\n").strip()
    if submit and not text:
        raise MailError(_("Write the reply before sending it for approval."), "body")
    if len(text) > MAX_REPLY_CHARS:
        raise MailError(
            _("The reply is too long (at most %(limit)s characters).") % {"limit": MAX_REPLY_CHARS},
            "body",
        )
    now = timezone.now()
    with transaction.atomic():
        LetterThread.objects.select_for_update().filter(pk=thread.pk).first()
        reply = open_reply(thread)
        if reply is not None and reply.state == ReplyState.SUBMITTED:
            raise MailError(_("This reply is waiting for approval and cannot be changed now."))
        if reply is None:
            reply = Letter(thread=thread, author=Author.STAFF)
        reply.body = text or None
        reply.drafted_by = actor
        reply.state = ReplyState.SUBMITTED if submit else ReplyState.DRAFT
        if submit:
            reply.submitted_at = now
        reply.save()
        audit_record(
            actor=actor,
            action="letter.reply_submitted" if submit else "letter.reply_drafted",
            target=reply,
            data={"thread": thread.pk},
        )
    return reply


def reply_review(
    *, actor: Any, reply: Letter, approve: bool, body: str | None = None, comment: str = ""
) -> Letter:
    """A supervisor (or a supporter, where the line allows) approves a reply, possibly
    edited, or returns it with a comment. Nobody approves their own reply."""
    from uketome.core.permissions import approve_reply

    thread = reply.thread
    if not approve_reply.test(actor, thread):
        raise MailError(_("You may not approve replies on this line."))
    if reply.state != ReplyState.SUBMITTED:
        raise MailError(_("This reply is not waiting for approval."))
    if reply.drafted_by_id == actor.pk:
        raise MailError(_("Someone else must approve a reply you wrote."))
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise MailError(_("The comment is too long."), "comment")
    now = timezone.now()
    with transaction.atomic():
        LetterThread.objects.select_for_update().filter(pk=thread.pk).first()
        reply.refresh_from_db()
        if reply.state != ReplyState.SUBMITTED:
            raise MailError(_("This reply is not waiting for approval."))
        edited = False
        if body is not None:
            text = body.replace("\r\n", "\n").strip()
            if approve and not text:
                raise MailError(_("An approved reply cannot be empty."), "body")
            if len(text) > MAX_REPLY_CHARS:
                raise MailError(
                    _("The reply is too long (at most %(limit)s characters).")
                    % {"limit": MAX_REPLY_CHARS},
                    "body",
                )
            edited = text != (reply.body or "")
            reply.body = text
        reply.reviewed_by = actor
        reply.reviewed_at = now
        reply.review_comment = comment or None
        if approve:
            reply.state = ReplyState.APPROVED
            reply.approved_at = now
        else:
            if not comment:
                raise MailError(_("Say what to change when you return a reply."), "comment")
            reply.state = ReplyState.RETURNED
        reply.save()
        audit_record(
            actor=actor,
            action="letter.reply_approved" if approve else "letter.reply_returned",
            target=reply,
            data={"thread": thread.pk, "edited": edited},
        )
        if approve:
            _mark_answered(thread, reply)
    return reply


def _mark_answered(thread: LetterThread, reply: Letter) -> None:
    fresh = LetterThread.objects.get(pk=thread.pk)
    if fresh.status == ThreadStatus.CLOSED:
        return
    later = (
        fresh.letters.filter(
            author=Author.CHILD, created_at__gt=reply.submitted_at or reply.created_at
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if later is not None:
        fresh.status, fresh.waiting_since = ThreadStatus.WAITING, later
    else:
        fresh.status, fresh.waiting_since = ThreadStatus.ANSWERED, None
    fresh.save(update_fields=["status", "waiting_since", "updated_at"])
    address = fresh.notify_address
    if address:
        transaction.on_commit(lambda: _notify(address))


def _notify(address: str) -> None:
    """A short note that a reply is there: no number, no words from the letters."""
    try:
        send_mail(
            _("A reply has arrived"),
            _(
                "A reply to your letter has arrived. Open the letters page and enter your "
                "letter number and secret words to read it."
            ),
            None,
            [address],
        )
    except Exception:  # a notification must never break the approval
        logger.exception("could not send a reply notification")


def thread_finish(
    *,
    actor: Any,
    thread: LetterThread,
    summary: str = "",
    risk_level: TaxonomyTerm | None = None,
) -> Contact:
    """End the thread: it becomes one contact record (channel mail); the notification
    address is deleted."""
    from uketome.core.permissions import finish_thread

    if not finish_thread.test(actor, thread):
        raise MailError(_("You may not finish this thread."))
    if thread.status == ThreadStatus.CLOSED:
        raise MailError(_("This thread is finished."))
    if thread.letters.filter(state=ReplyState.SUBMITTED).exists():
        raise MailError(_("A reply is waiting for approval: approve or return it first."))
    version = current_version()

    def current(term: TaxonomyTerm | None) -> TaxonomyTerm | None:
        if term is None or term.version_id == version.pk:
            return term
        return term.current

    first = thread.letters.order_by("created_at", "id").first()
    now = timezone.now()
    with transaction.atomic():
        contact = contact_record(
            actor=actor,
            data=ContactData(
                line=thread.line,
                channel=Channel.MAIL,
                started_at=first.created_at if first is not None else thread.created_at,
                ended_at=None,
                site=thread.site,
                listener=thread.claimed_by,
                age_band=current(thread.age_band),
                gender=current(thread.gender),
                topics=[t for t in (current(t) for t in thread.topics.all()) if t is not None],
                risk_level=current(risk_level or thread.risk_level),
                summary=summary,
                client_ref=uuid.uuid5(CONTACT_NAMESPACE, f"letter-thread-{thread.pk}"),
                source_kind="letter",
                source_id=thread.pk,
            ),
        )
        LetterThread.objects.filter(pk=thread.pk).update(
            status=ThreadStatus.CLOSED,
            closed_at=now,
            closed_by=actor,
            contact=contact,
            notify_address=None,
            waiting_since=None,
            updated_at=now,
        )
        audit_record(
            actor=actor, action="letter.finished", target=thread, data={"contact": contact.pk}
        )
    thread.refresh_from_db()
    return contact


def letters_retention_run(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Remove the text of letters, replies and comments (and any notification address) in
    threads whose newest letter is older than the line's retention period. The thread's
    statistical fields and its contact record stay. Audited (also a dry run). Runs daily
    (``core.schedule``, job ``letters-retention``).
    """
    now = now or timezone.now()
    removed: dict[str, int] = {}
    for line in Line.objects.filter(pk__in=LetterThread.objects.values("line_id")):
        cutoff = now - timedelta(days=line.retention_days)
        recent = Letter.objects.filter(thread=OuterRef("pk"), created_at__gte=cutoff)
        due = LetterThread.objects.filter(line=line, created_at__lt=cutoff).exclude(Exists(recent))
        due = due.filter(Exists(Letter.objects.filter(thread=OuterRef("pk"), body__isnull=False)))
        ids = list(due.values_list("pk", flat=True))
        removed[line.slug] = len(ids)
        if dry_run or not ids:
            continue
        with transaction.atomic():
            Letter.objects.filter(thread_id__in=ids).update(body=None, review_comment=None)
            LetterThread.objects.filter(pk__in=ids).update(notify_address=None)
    audit_record(
        actor=None,
        action="letter.retention_dry_run" if dry_run else "letter.retention_run",
        data={"removed": removed, "at": now.isoformat()},
    )
    return removed
