from django.urls import path

from uketome.network import views

app_name = "network"

urlpatterns = [path("", views.directory, name="directory")]
