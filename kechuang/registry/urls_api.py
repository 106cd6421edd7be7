"""The registry's resources under /api/v1/."""

from rest_framework.routers import DefaultRouter

from .api import views

router = DefaultRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("locations", views.LocationViewSet, basename="location")
router.register("phases", views.PhaseViewSet, basename="phase")
router.register("ownerships", views.OwnershipViewSet, basename="ownership")
router.register("capacities", views.CapacityViewSet, basename="capacity")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("sources", views.SourceViewSet, basename="source")
router.register("sectors", views.SectorViewSet, basename="sector")
urlpatterns = router.urls
