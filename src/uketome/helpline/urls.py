from django.urls import path

from uketome.helpline import views

app_name = "helpline"

urlpatterns = [
    path("", views.contact_list, name="contact_list"),
    path("new/", views.contact_new, name="contact_new"),
    path("<int:pk>/", views.contact_detail, name="contact_detail"),
    path("export.<str:fmt>", views.contact_export, name="contact_export"),
    path("escalations/", views.escalation_list, name="escalation_list"),
    path("escalations/<int:pk>/", views.escalation_decide, name="escalation_decide"),
]
