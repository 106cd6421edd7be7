"""Security headers on every page: a Content-Security-Policy that runs no inline code
without the response's nonce, and SecurityMiddleware's headers."""

import datetime as dt
import re

import pytest

from kechuang.registry.services import move_organisation, save_organisation, save_region

pytestmark = pytest.mark.django_db

PAGES = ["/", "/regions/320612/", "/organisations/zhongkeyi-nantong/", "/admin/", "/admin/registry/organisation/",
         "/api/docs/", "/api/redoc/", "/api/v1/"]


@pytest.fixture
def world():
    jiangsu, _ = save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")
    nantong, _ = save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)
    tongzhou, _ = save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou District", parent=nantong)
    firm, _ = save_organisation("zhongkeyi-nantong", kind="enterprise", name_zh="中科仪(南通)半导体设备有限责任公司",
                                name_en="Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd")
    move_organisation(firm, tongzhou, since=dt.date(2020, 1, 1))


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def inline_elements(html: str, tag: str) -> list[str]:
    """The opening tags of <script>/<style> elements with code in the page itself."""
    opening = re.findall(rf"<{tag}\b[^>]*>", html)
    return [t for t in opening if "src=" not in t and 'type="application/json"' not in t]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_policy(admin_client, world, path):
    response = admin_client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[directive] and "'unsafe-eval'" not in directives[directive]
        assert not any(source.startswith("http") for source in directives[directive])


@pytest.mark.parametrize("path", PAGES)
def test_inline_scripts_and_styles_carry_the_nonce(admin_client, world, path):
    response = admin_client.get(path, HTTP_ACCEPT="text/html")
    html = response.content.decode()
    nonces = {source for source in policy(response)["script-src"] if source.startswith("'nonce-")}
    for tag in ("script", "style"):
        for element in inline_elements(html, tag):
            assert nonces, f"{path}: inline {element} but the policy has no nonce"
            (nonce,) = nonces
            assert f'nonce="{nonce[len("nonce-") + 1:-1]}"' in element, f"{path}: {element} would not run"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_run_their_inline_script_with_a_fresh_nonce(client, path):
    first, second = client.get(path), client.get(path)
    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"]).group(1)
    html = first.content.decode()
    assert f'<script nonce="{nonce}">' in html
    assert f"'nonce-{nonce}'" in policy(first)["style-src"]
    assert nonce not in second["Content-Security-Policy"]


def test_redoc_gets_its_nonce_and_its_search_worker(client):
    response = client.get("/api/redoc/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'redocSettings.nonce = "{nonce}"' in response.content.decode()
    assert policy(response)["worker-src"] == ["'self'", "blob:"]
    assert "worker-src" not in policy(client.get("/api/docs/"))


def test_pages_without_inline_code_get_no_nonce(client, world):
    assert "nonce-" not in client.get("/")["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/api/v1/", "/admin/login/", "/api/docs/"])
def test_security_middleware_headers(client, world, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    # drf-spectacular opens Swagger UI's opener policy for OAuth2 pop-ups (which kechuang does not use)
    assert response["Cross-Origin-Opener-Policy"] == ("unsafe-none" if path == "/api/docs/" else "same-origin")


def test_the_session_cookie_is_http_only_and_lasts_a_working_day(client, clerk):
    response = client.post("/admin/login/", {"username": "clerk", "password": "pw-clerk-123"})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["max-age"] == 8 * 60 * 60
