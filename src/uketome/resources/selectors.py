"""Reads of the resource directory. The public pages see published resources only."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from uketome.core.text import normalize, search_key
from uketome.resources.models import Resource, ResourceTopic, Topic

#: The most words of a search that are used (each must match).
MAX_TERMS = 10


@dataclass(frozen=True)
class Group:
    """Resources of one municipality; ``municipality == ""``: the whole prefecture or Japan."""

    municipality: str
    resources: list[Resource]


@dataclass(frozen=True)
class Directory:
    """What the directory page shows for a search."""

    groups: list[Group] = field(default_factory=list)
    count: int = 0
    #: The topics and municipalities that published resources have (for the filters).
    topics: list[Topic] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    unknown_topic: bool = False
    unknown_municipality: bool = False


def published_resources() -> QuerySet[Resource]:
    return Resource.objects.filter(published=True).prefetch_related("topic_links")


def topics_in_use() -> list[Topic]:
    """Topics that at least one published resource has, in the fixed order."""
    used = set(
        ResourceTopic.objects.filter(resource__published=True)
        .values_list("topic", flat=True)
        .distinct()
    )
    return [topic for topic in Topic if topic.value in used]


def municipalities_in_use() -> list[str]:
    """Municipalities of published resources, in the order the secretariat gives their
    resources (the smallest ``sort_order`` first), then by name. Sorted in Python, so the
    order is the same on every database."""
    first: dict[str, int] = {}
    rows = (
        Resource.objects.filter(published=True)
        .exclude(municipality="")
        .values_list("municipality", "sort_order")
    )
    for place, order in rows:
        first[place] = min(order, first.get(place, order))
    return sorted(first, key=lambda place: (first[place], place))


def search_terms(query: str) -> list[str]:
    """The search keys of the words of ``query`` (separated by spaces, full-width too)."""
    keys: list[str] = []
    for word in normalize(query).split(" "):
        key = search_key(word)
        if key and key not in keys:
            keys.append(key)
    return keys[:MAX_TERMS]


def resources_matching(queryset: QuerySet[Resource], query: str) -> QuerySet[Resource]:
    """Resources whose search key holds every word of ``query`` (kana and width folded)."""
    for key in search_terms(query):
        queryset = queryset.filter(search__icontains=key)
    return queryset


def resource_directory(*, query: str = "", topic: str = "", municipality: str = "") -> Directory:
    """Published resources matching a search, a topic and a municipality.

    With a municipality, the resources for the whole prefecture or Japan are shown too
    (in their own group, first). An unknown topic or municipality gives no resources and
    says so (``unknown_topic`` / ``unknown_municipality``).
    """
    topics = topics_in_use()
    municipalities = municipalities_in_use()
    unknown_topic = bool(topic) and topic not in Topic.values
    unknown_municipality = bool(municipality) and municipality not in municipalities
    if unknown_topic or unknown_municipality:
        return Directory(
            topics=topics,
            municipalities=municipalities,
            unknown_topic=unknown_topic,
            unknown_municipality=unknown_municipality,
        )
    queryset = resources_matching(published_resources(), query)
    if topic:
        queryset = queryset.filter(topic_links__topic=topic)
    if municipality:
        queryset = queryset.filter(Q(municipality=municipality) | Q(municipality=""))
    found = list(queryset)
    by_place: dict[str, list[Resource]] = {}
    for resource in found:
        by_place.setdefault(resource.municipality, []).append(resource)
    order = {place: n for n, place in enumerate(["", *municipalities])}
    groups = [Group(place, by_place[place]) for place in sorted(by_place, key=order.__getitem__)]
    return Directory(
        groups=groups,
        count=len(found),
        topics=topics,
        municipalities=municipalities,
    )
