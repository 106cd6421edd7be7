from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("regions/", views.regions, name="regions"),
    re_path(r"^regions/(?P<code>[0-9]{6}|[0-9]{9}|[0-9]{12})/$", views.region_detail, name="region"),
    path("organisations/<slug:key>/", views.organisation_detail, name="organisation"),
]
