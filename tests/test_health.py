import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_database(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_pages_render_after_collectstatic_with_the_production_storage(client, settings, tmp_path):
    """The production path: hashed, compressed static files served by WhiteNoise."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    call_command("collectstatic", "--no-input", verbosity=0)
    response = client.get("/")
    assert response.status_code == 200
    css = next(part for part in response.content.decode().split('"') if part.startswith("/static/kechuang/site."))
    assert css.endswith(".css") and css != "/static/kechuang/site.css"  # hashed name
    assert (tmp_path / css.removeprefix("/static/")).exists()
