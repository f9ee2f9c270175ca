"""Public portal pages, mounted at /p/. ``news/`` comes before the page addresses (and
"news" is a reserved page address)."""

from django.urls import path

from uketome.content import views

app_name = "pages"

urlpatterns = [
    path("news/", views.public_news_list, name="news_list"),
    path("news/<int:pk>/", views.public_news_item, name="news_item"),
    path("<slug:slug>/", views.public_page, name="page"),
]
