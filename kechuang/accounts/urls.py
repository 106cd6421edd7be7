"""Web sign-in and sign-out for every role (the admin's login admits staff only).

Django's own views: the password goes through `authenticate()`, so django-axes counts
failures and locks out exactly as at the admin and the API.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
