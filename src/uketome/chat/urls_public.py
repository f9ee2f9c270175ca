from django.urls import path

from uketome.chat import views

app_name = "chat_public"

urlpatterns = [
    path("", views.chat_page, name="page"),
    path("start/", views.chat_start, name="start"),
]
