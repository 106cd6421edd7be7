"""The inbox under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("inbox", api.InboxViewSet, basename="notification")
urlpatterns = router.urls
