"""The indicators' resources under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("indicators", api.IndicatorViewSet, basename="indicator")
router.register("measures", api.MeasureViewSet, basename="measure")
router.register("exchange-rates", api.ExchangeRateViewSet, basename="exchangerate")
urlpatterns = router.urls
