"""The designations' resources under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()  # the API root is the registry's
router.register("designation-types", api.DesignationTypeViewSet, basename="designation-type")
router.register("designations", api.DesignationViewSet, basename="designation")
router.register("designation-imports", api.DesignationImportViewSet, basename="designation-import")
urlpatterns = router.urls
