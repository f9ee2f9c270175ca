from django.urls import path

from uketome.resources import views

app_name = "resources"

urlpatterns = [path("", views.directory, name="directory")]
