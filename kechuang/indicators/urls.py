"""The indicators' web pages."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^regions/(?P<code>[0-9]{6}|[0-9]{9}|[0-9]{12})/indicators/$", views.region_dashboard,
            name="region-indicators"),
    re_path(r"^regions/(?P<code>[0-9]{6}|[0-9]{9}|[0-9]{12})/indicators/trends/$", views.region_trends,
            name="region-indicator-trends"),
    path("indicators/", views.explorer, name="indicator-explorer"),
    re_path(r"^indicators/(?P<code>[a-z][a-z0-9_]*)/contributors/$", views.contributors,
            name="indicator-records"),
]
