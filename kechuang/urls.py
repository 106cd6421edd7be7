from csp.constants import SELF
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from kechuang.health import healthz

urlpatterns = [
    path("", include("kechuang.registry.urls")),
    path("", include("kechuang.statistics.urls")),
    path("", include("kechuang.indicators.urls")),
    path("", include("kechuang.programs.urls")),
    path("", include("kechuang.designations.urls")),
    path("", include("kechuang.bulletins.urls")),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("kechuang.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/auth/", include("kechuang.accounts.urls_api")),
    path("api/v1/", include("kechuang.registry.urls_api")),
    path("api/v1/", include("kechuang.statistics.urls_api")),
    path("api/v1/", include("kechuang.programs.urls_api")),
    path("api/v1/", include("kechuang.notifications.urls_api")),
    path("api/v1/", include("kechuang.indicators.urls_api")),
    path("api/v1/", include("kechuang.designations.urls_api")),
    path("api/v1/", include("kechuang.designations.urls_screening")),
    path("api/v1/", include("kechuang.bulletins.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Redoc builds its search index in a Web Worker it makes from a blob: URL.
    path("api/redoc/", csp_update({"worker-src": [SELF, "blob:"]})(SpectacularRedocView.as_view(url_name="schema")),
         name="redoc"),
]

#: A request that fails because the database cannot be reached is answered 503 with Retry-After.
handler500 = "kechuang.error_pages.server_error"
#: …and a URL under /api/ that no route serves is answered in JSON.
handler404 = "kechuang.error_pages.page_not_found"
