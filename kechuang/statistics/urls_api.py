"""The statistics' resources under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("metrics", api.MetricViewSet, basename="metric")
router.register("observations", api.ObservationViewSet, basename="observation")
router.register("locks", api.DataLockViewSet, basename="datalock")
urlpatterns = [
    path("completeness/", api.CompletenessView.as_view(), name="completeness"),
    *router.urls,
]
