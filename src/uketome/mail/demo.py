"""Demo letters: a few waiting (one overdue, one to watch) and one answered thread.

The answered thread opens with the number ``2026-0401`` and the secret words
``さくら ねこ みかん ほたる`` (demo data only). All content is invented.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from uketome.accounts.models import User
from uketome.helpline.models import Line
from uketome.mail import secrets, services
from uketome.mail.models import Letter, LetterThread
from uketome.network.models import Site

DEMO_NUMBER = "20260401"
DEMO_SECRET = "さくら ねこ みかん ほたる"  # noqa: S105 - demo data, documented

WAITING: list[dict[str, Any]] = [
    {
        "body": "こんにちは。クラスで話せる人がいなくて、休み時間がとても長く感じます。"
        "どうやって友だちをつくればいいですか。",
        "age_band": "upper_elementary",
        "gender": "girl",
        "topics": ("human_relations", "school"),
        "hours_ago": 90,
    },
    {
        "body": "部活の先輩にきびしく言われて、毎日行くのがつらいです。"
        "やめたいけど、親にどう言えばいいかわかりません。",
        "age_band": "junior_high",
        "gender": "boy",
        "topics": ("school", "family"),
        "hours_ago": 20,
    },
    {
        "body": "テストの点が下がって、ずっと不安で夜ねむれません。",
        "age_band": "age_15_18",
        "gender": "",
        "topics": ("study", "mind"),
        "hours_ago": 3,
    },
]

ANSWERED_LETTER = (
    "ねこを飼いたいと家族に言ったら、だめと言われました。どうしたらわかってもらえるかな。"
)
ANSWERED_REPLY = (
    "お手紙ありがとう。ねこが大好きなんだね。\n"
    "おうちの人が「だめ」と言ったのには、なにか理由があるのかもしれないね。"
    "よかったら、どうしてだめなのか聞いてみるのはどうかな。"
    "また、いつでもお手紙を書いてね。"
)


def _demo_line() -> Line | None:
    lines = services.mail_lines()
    return next((line for line in lines if line.slug == "mail"), lines[0] if lines else None)


@transaction.atomic
def load_mail() -> int:
    """Load the demo letters once (safe to run again). Returns the number of threads."""
    line = _demo_line()
    if line is None:
        return 0
    mail_settings = services.settings_for(line)
    if not mail_settings.sites.exists():
        mail_settings.sites.set(Site.objects.filter(active=True))
    existing = LetterThread.objects.filter(line=line).count()
    if existing:
        return existing
    now = timezone.now()
    for entry in WAITING:
        sent = services.letter_send(
            data=services.NewLetter(
                line=line,
                body=str(entry["body"]),
                age_band=str(entry["age_band"]),
                gender=str(entry["gender"]),
                topics=tuple(entry["topics"]),
            )
        )
        moment = now - timedelta(hours=int(str(entry["hours_ago"])))
        LetterThread.objects.filter(pk=sent.thread.pk).update(
            created_at=moment, waiting_since=moment
        )
        Letter.objects.filter(thread=sent.thread).update(created_at=moment)
    listener = User.objects.filter(username="listener").first()
    supervisor = User.objects.filter(username="supervisor").first()
    sent = services.letter_send(
        data=services.NewLetter(
            line=line, body=ANSWERED_LETTER, age_band="lower_elementary", topics=("family",)
        )
    )
    thread = sent.thread
    if not LetterThread.objects.filter(number=DEMO_NUMBER).exists():
        thread.number = DEMO_NUMBER
    thread.secret_hash = secrets.hash_secret(DEMO_SECRET)
    thread.save(update_fields=["number", "secret_hash"])
    if listener is not None and supervisor is not None:
        services.thread_claim(actor=listener, thread=thread)
        reply = services.reply_save(actor=listener, thread=thread, body=ANSWERED_REPLY, submit=True)
        services.reply_review(actor=supervisor, reply=reply, approve=True)
    return LetterThread.objects.filter(line=line).count()
