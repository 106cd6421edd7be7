"""The designations web pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("designations/", views.registry, name="designations-registry"),
    path("designations/<int:pk>/", views.designation, name="designation"),
    path("designations/expiring/", views.expiring, name="designations-expiring"),
    path("designations/screening/", views.screening, name="designations-screening"),
    path("designations/screening/<str:rule_set>/<slug:key>/", views.explanation, name="designations-explanation"),
    path("designations/imports/", views.imports, name="designations-imports"),
    path("designations/imports/<int:pk>/link/", views.review_candidate, {"decision": "link"},
         name="designations-import-link"),
    path("designations/imports/<int:pk>/dismiss/", views.review_candidate, {"decision": "dismiss"},
         name="designations-import-dismiss"),
]
