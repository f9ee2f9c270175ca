"""Staff pages for letters, mounted at /staff/mail/."""

from django.urls import path

from uketome.mail import views

app_name = "mail"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.thread_detail, name="thread"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/finish/", views.finish, name="finish"),
]
