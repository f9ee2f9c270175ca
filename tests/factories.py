"""factory_boy factories for the network."""

import factory

from uketome.network.models import Organization, OrganizationKind, Site


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"団体{n}")
    kind = OrganizationKind.NPO


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"拠点{n}")
    slug = factory.Sequence(lambda n: f"site-{n}")
    organization = factory.SubFactory(OrganizationFactory)
