"""The bulletins' resources under /api/v1/ (kechuang.bulletins.api).

A published file is named as a file, without the router's trailing slash:
bulletins/<id>/versions/<n>/files/en.pdf, …/files/data.csv. The routes' names start with
"api-": the pages (urls.py) name theirs after the same resource.
"""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("bulletins", api.BulletinViewSet, basename="api-bulletin")
router.register("bulletin-templates", api.BulletinTemplateViewSet, basename="api-bulletin-template")

download = api.BulletinViewSet.as_view({"get": "file"}, content_negotiation_class=api.FilesWhateverTheAccept)
urlpatterns = [
    re_path(r"^bulletins/(?P<pk>[0-9]{1,18})/versions/(?P<number>[0-9]{1,5})/files/"
            r"(?P<language>[a-z-]{1,10})\.(?P<extension>[a-z]{1,10})$", download, name="api-bulletin-file"),
    *router.urls,
]
