"""Editor pages, mounted at /staff/content/."""

from django.urls import path

from uketome.content import views

app_name = "content"

urlpatterns = [
    path("", views.index, name="index"),
    path("pages/new/", views.page_new, name="page_new"),
    path("pages/<int:pk>/", views.page_edit, name="page_edit"),
    path("pages/<int:pk>/preview/", views.page_preview, name="page_preview"),
    path("pages/<int:pk>/publish/", views.page_publish, name="page_publish"),
    path("pages/<int:pk>/unpublish/", views.page_unpublish, name="page_unpublish"),
    path("pages/<int:pk>/restore/<int:revision>/", views.page_restore, name="page_restore"),
    path("news/new/", views.news_new, name="news_new"),
    path("news/<int:pk>/", views.news_edit, name="news_edit"),
    path("news/<int:pk>/preview/", views.news_preview, name="news_preview"),
    path("news/<int:pk>/publish/", views.news_publish, name="news_publish"),
    path("news/<int:pk>/unpublish/", views.news_unpublish, name="news_unpublish"),
]
