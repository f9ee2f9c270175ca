"""Reads of the network directory."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from uketome.core.permissions import view_network
from uketome.network.models import CollaborativeProject, Organization, Site


def organizations_visible_to(user: Any) -> QuerySet[Organization]:
    return view_network.filter(user, Organization.objects.filter(active=True))


def sites_visible_to(user: Any) -> QuerySet[Site]:
    return view_network.filter(
        user,
        Site.objects.filter(active=True)
        .select_related("organization")
        .annotate(
            volunteers=Count("memberships__user", filter=Q(memberships__active=True), distinct=True)
        ),
    )


def projects_visible_to(user: Any) -> QuerySet[CollaborativeProject]:
    return view_network.filter(
        user, CollaborativeProject.objects.filter(active=True).prefetch_related("organizations")
    )
