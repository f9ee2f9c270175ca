from django.urls import path

from uketome.stats import views

app_name = "stats"

urlpatterns = [
    path("", views.index, name="index"),
    path("export.<str:fmt>", views.export, name="export"),
    path("report/<int:year>/", views.annual_report, name="annual_report"),
    path("report/<int:year>/edit/<slug:key>/", views.section_edit, name="section_edit"),
]
