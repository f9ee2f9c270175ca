"""The public resource directory (相談できるところ) on the children's portal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from uketome.portal.ruby import DEFAULT_GRADE, GRADE_PARAM, grade_from, grade_param
from uketome.resources import selectors
from uketome.resources.forms import MAX_QUERY_LENGTH, DirectoryParams
from uketome.resources.models import Topic


def _address(params: dict[str, str]) -> str:
    base = reverse("resources:directory")
    return f"{base}?{urlencode(params)}" if params else base


@require_safe
def directory(request: HttpRequest) -> HttpResponse:
    params = DirectoryParams.from_get(request.GET)
    grade = grade_from(request)
    found = selectors.resource_directory(
        query=params.query, topic=params.topic, municipality=params.municipality
    )
    topic_links = [
        {
            "label": topic.label,
            "url": _address(params.as_query(topic=topic.value)),
            "current": topic.value == params.topic,
        }
        for topic in found.topics
    ]
    context = {
        "grade": grade,
        "grade_param": GRADE_PARAM,
        "grade_value": "" if grade == DEFAULT_GRADE else grade_param(grade),
        "params": params,
        "directory": found,
        "topic_links": topic_links,
        "all_topics_url": _address(params.as_query(topic="")),
        "topic_label": Topic(params.topic).label if params.topic in Topic.values else "",
        "clear_url": _address({}),
        "max_query_length": MAX_QUERY_LENGTH,
    }
    # Children's pages are always in Japanese, whatever a staff member chose on this device.
    with translation.override("ja"):
        response = render(request, "resources/directory.html", context)
    response.headers["Content-Language"] = "ja"
    return response
