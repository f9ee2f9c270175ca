from django.urls import path

from uketome.chat import views

app_name = "chat"

urlpatterns = [
    path("", views.console, name="console"),
    path("alive/", views.alive, name="alive"),
    path("<int:pk>/", views.transcript, name="transcript"),
    path("<int:pk>/record/", views.record, name="record"),
]
