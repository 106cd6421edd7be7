"""Web sign-in and sign-out for every role (the admin's login admits staff only).

Django's own views: the password goes through `authenticate()`, so django-axes counts
failures and locks out exactly as at the admin and the API.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path


class LoginView(auth_views.LoginView):
    """Django's sign-in page; on a demonstration server (`SHOW_DEMO_LOGINS`, which `make run`
    sets) it names the demo logins, one per role, so that a newcomer can try each."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.SHOW_DEMO_LOGINS:
            from kechuang.demo.builder import DEMO_ROLES, DEMO_USERNAME

            context["demo_users"] = [DEMO_USERNAME, *[username for username, *_ in DEMO_ROLES]]
        return context


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
