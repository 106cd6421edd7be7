"""The programmes' resources under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("calls", api.CallViewSet, basename="call")
router.register("projects", api.ProjectViewSet, basename="project")
router.register("reviews", api.ReviewViewSet, basename="review")
urlpatterns = router.urls
