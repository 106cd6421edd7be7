"""Authentication and authorisation resources under /api/v1/auth/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import GrantViewSet, TokenView

router = SimpleRouter()
router.register("grants", GrantViewSet, basename="grant")

urlpatterns = [
    path("token/", TokenView.as_view(), name="auth-token"),
    *router.urls,
]
