from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from uketome.core import views as core_views
from uketome.portal import views as portal_views

urlpatterns = [
    path("", portal_views.home, name="portal-home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("staff/", include("uketome.accounts.urls")),
    path("staff/network/", include("uketome.network.urls")),
    path("staff/contacts/", include("uketome.helpline.urls")),
    path("staff/stats/", include("uketome.stats.urls")),
    path("chat/", include("uketome.chat.urls_public")),
    path("staff/chat/", include("uketome.chat.urls_staff")),
    path("staff/content/", include("uketome.content.urls_staff")),
    path("p/", include("uketome.content.urls_public")),
    path("resources/", include("uketome.resources.urls")),
    path("staff/core/", include("uketome.core.urls")),
    path("mail/", include("uketome.mail.urls_public")),
    path("staff/mail/", include("uketome.mail.urls_staff")),
    path("", include("uketome.qa.urls")),
    path("staff/admin/", admin.site.urls),
    path("staff/language/", set_language, name="set_language"),
]
