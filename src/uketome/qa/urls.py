"""Addresses of the Q&A corner: public pages under /qa/, staff pages under /staff/qa/.
Included once at the root (``path("", include("uketome.qa.urls"))``)."""

from django.urls import path

from uketome.qa import views

app_name = "qa"

urlpatterns = [
    path("qa/", views.index, name="index"),
    path("qa/ask/", views.ask, name="ask"),
    path("qa/ask/sent/", views.sent, name="sent"),
    path("qa/<int:pk>/", views.detail, name="detail"),
    path("staff/qa/", views.staff_list, name="staff_list"),
    path("staff/qa/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/qa/<int:pk>/decide/", views.staff_decide, name="staff_decide"),
    path("staff/qa/<int:pk>/flags/<int:flag_pk>/", views.staff_flag, name="staff_flag"),
    path("staff/qa/<int:pk>/risk/", views.staff_risk, name="staff_risk"),
]
