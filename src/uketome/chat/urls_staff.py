from django.urls import path

from uketome.chat import views

app_name = "chat"

urlpatterns = [
    path("", views.console, name="console"),
    path("<int:pk>/", views.transcript, name="transcript"),
    path("<int:pk>/record/", views.record, name="record"),
]
