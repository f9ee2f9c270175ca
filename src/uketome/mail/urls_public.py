"""Children's letters, mounted at /mail/."""

from django.urls import path

from uketome.mail import views

app_name = "letters"

urlpatterns = [
    path("", views.write, name="write"),
    path("read/", views.read, name="read"),
    path("write-again/", views.write_again, name="write_again"),
]
