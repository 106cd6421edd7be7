"""The bulletins' web pages and files (the API's routes, in urls_api, are named "api-…")."""

from django.urls import path

from . import views
from .feeds import BulletinFeed

urlpatterns = [
    path("bulletins/", views.bulletins, name="bulletins"),
    path("bulletins/new/", views.new_bulletin, name="bulletin-new"),
    path("bulletins/feed.atom", BulletinFeed(), name="bulletins-feed"),
    path("bulletins/bulletin.css", views.stylesheet, name="bulletin-stylesheet"),
    path("bulletins/templates/", views.templates, name="bulletin-templates"),
    path("bulletins/templates/new/", views.template_editor, name="bulletin-template-new"),
    path("bulletins/templates/<slug:code>/", views.template_editor, name="bulletin-template"),
    path("bulletins/<int:pk>/", views.bulletin, name="bulletin"),
    path("bulletins/<int:pk>/publish/", views.publish, name="bulletin-publish-form"),
    path("bulletins/<int:pk>/v<int:number>/", views.version, name="bulletin-version-page"),
    path("bulletins/<int:pk>/v<int:number>/data.<slug:fmt>", views.download, {"lang": ""}, name="bulletin-data"),
    path("bulletins/<int:pk>/v<int:number>/<slug:lang>.<slug:fmt>", views.download, name="bulletin-file"),
]
