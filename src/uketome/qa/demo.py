"""Demo data for the Q&A corner: the corner's line (its name is the corner's name) and a
few published questions and answers, invented for the demo and anonymous.

Each item goes the real way: a question is received, drafted, sent and approved (by
the system), so the demo shows what the flow makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from uketome.helpline.models import Channel, IdentityPolicy, Line
from uketome.qa import services
from uketome.qa.models import Category, PublishedAnswer


@dataclass(frozen=True)
class DemoItem:
    asked: str
    category: str
    rewrite: str
    answer: str


CORNER = {"slug": "qa", "name": "MIEちゃんに聞いてみよう"}

ITEMS = [
    DemoItem(
        asked="クラスの友だちにLINEのグループからはずされました。どうしたらいいかわからない",
        category=Category.FRIENDS,
        rewrite="友だちのグループから、わたしだけはずされてしまいました。どうしたらいいですか。",
        answer=(
            "グループからはずされて、とても悲しかったね。教えてくれてありがとう。\n"
            "あなたが悪いから、ということではありません。"
            "まずは、信じられる大人に話してみてください。おうちの人や、学校の先生でもいいです。\n"
            "話すのがむずかしいときは、電話やチャットで、わたしたちにも話してね。"
        ),
    ),
    DemoItem(
        asked="朝になるとおなかがいたくなって学校に行けない日がある。なまけてるのかな",
        category=Category.SCHOOL,
        rewrite="朝になるとおなかがいたくなって、学校に行けない日があります。なまけているのでしょうか。",
        answer=(
            "おなかがいたいのは、つらいね。なまけているのではないと思います。"
            "心がつかれていると、体にサインが出ることがあります。\n"
            "ほけんしつの先生や、おうちの人に「朝おなかがいたくなる」と話してみてね。"
            "休むことも、大切なことです。"
        ),
    ),
    DemoItem(
        asked="お母さんとお父さんがよくけんかしていて、家にいるのがこわいです",
        category=Category.FAMILY,
        rewrite="家で大人がよくけんかをしていて、家にいるのがこわいです。",
        answer=(
            "大きな声が聞こえると、こわいよね。それは、あなたのせいではありません。\n"
            "こわいときは、安心できる部屋に行ったり、信じられる大人に話したりしてください。\n"
            "もしけがをしそうなときや、あぶないときは、110番や189番に電話できます。"
        ),
    ),
    DemoItem(
        asked="好きな人がいるけど、話しかけられません。どうしたら話せるようになりますか",
        category=Category.LOVE,
        rewrite="好きな人に、話しかけることができません。どうしたらいいですか。",
        answer=(
            "好きな人がいるって、すてきなことだね。どきどきして話せないのは、"
            "多くの人が同じです。\n"
            "はじめは「おはよう」だけでも十分です。少しずつで大丈夫だよ。"
        ),
    ),
    DemoItem(
        asked="夜ずっとスマホを見てしまってねむれない。やめたいけどやめられない",
        category=Category.INTERNET,
        rewrite="夜、スマホを見るのをやめられなくて、ねむれません。",
        answer=(
            "やめたいと思っているのは、大切な一歩です。\n"
            "ねる前の時間は、スマホを別の部屋においてみるのはどうかな。"
            "アラームで「おしまいの時間」を決めるのもいいよ。\n"
            "うまくいかない日があっても、自分をせめないでね。"
        ),
    ),
    DemoItem(
        asked="将来やりたいことがなにもない。みんなは夢があるのに自分だけない",
        category=Category.FUTURE,
        rewrite="将来やりたいことが見つかりません。夢がないのは、だめですか。",
        answer=(
            "夢がなくても、だめではありません。大人になってから見つける人も、たくさんいます。\n"
            "今「好きだな」「楽しいな」と思うことを、大切にしてみてね。それが、いつか夢につながるかもしれません。"
        ),
    ),
]


@transaction.atomic
def load_corner() -> Line:
    """The line whose name is the corner's name (the Q&A channel, open any time)."""
    line, _created = Line.objects.update_or_create(
        slug=CORNER["slug"],
        defaults={
            "name": CORNER["name"],
            "channels": [Channel.QA],
            "identity_policy": IdentityPolicy.ANONYMOUS,
            "always_open": True,
            "retention_days": 365,
            "reply_target_hours": 24 * 14,
            "sort_order": 90,
        },
    )
    return line


def load_qa() -> list[PublishedAnswer]:
    """Create the corner and publish the demo items. Safe to run again: an item already
    published (same question text) is left as it is."""
    load_corner()
    published = []
    for item in ITEMS:
        existing = PublishedAnswer.objects.filter(question_text=item.rewrite).first()
        if existing is not None:
            published.append(existing)
            continue
        with transaction.atomic():
            question = services.question_receive(text=item.asked, category_hint=item.category)
            services.qa_draft_save(
                actor=None,
                question=question,
                category=item.category,
                rewrite=item.rewrite,
                answer=item.answer,
            )
            services.qa_submit(actor=None, question=question)
            published.append(services.qa_approve(actor=None, question=question))
    return published
