"""Demo chat settings and canned phrases (定型文) for the chat lines."""

from __future__ import annotations

from django.db import transaction

from uketome.chat.models import CannedPhrase, ChatSettings
from uketome.helpline.models import Channel, Line

PHRASES = [
    "こんにちは。チャットに来てくれてありがとう。",
    "ここでは名前を言わなくてだいじょうぶだよ。",
    "ゆっくりでいいよ。書けるところから書いてね。",
    "話してくれてありがとう。",
    "それはつらかったね。",
    "もう少しくわしく教えてくれる?",
    "今、あなたは安全な場所にいる?",
    "そろそろ終わりの時間が近づいてきました。",
    "また話したくなったら、いつでも来てね。",
]


@transaction.atomic
def load_chat() -> int:
    """Settings and canned phrases for every chat line. Safe to run again."""
    count = 0
    for line in Line.objects.all():
        if Channel.CHAT not in line.channels:
            continue
        ChatSettings.objects.get_or_create(line=line)
        if not CannedPhrase.objects.filter(line=line).exists():
            CannedPhrase.objects.bulk_create(
                CannedPhrase(line=line, text=text, sort_order=n) for n, text in enumerate(PHRASES)
            )
        count += 1
    return count
