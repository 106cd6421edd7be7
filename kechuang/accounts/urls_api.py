"""Authentication resources under /api/v1/auth/."""

from django.urls import path

from .api import TokenView

urlpatterns = [
    path("token/", TokenView.as_view(), name="auth-token"),
]
