"""The answers to a request that failed with an uncaught exception (`handler500`) and to a
URL no route serves (`handler404`).

When the database cannot be reached (PostgreSQL stopped, restarting or out of connections),
every request fails with django.db's OperationalError or InterfaceError. That is not a fault
of kechuang's and it passes: the answer is 503 Service Unavailable with Retry-After, so that
browsers, API clients and load balancers know to try again, rather than a 500 that says the
program is broken. Each connection is checked before it is reused (CONN_HEALTH_CHECKS), so
the first request after the database is back is served without restarting anything.

The page is written here, in both languages, without a template, the session or the user:
each of them may need the database that is gone.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults

#: Where the API lives: its errors are JSON, as every other answer of it.
API_PREFIX = "/api/"

#: Seconds a client should wait before trying again: a database restart takes a few.
RETRY_AFTER_SECONDS = 5

UNAVAILABLE_PAGE = """<!doctype html>
<html lang="zh-Hans">
<head><meta charset="utf-8"><title>暂时无法访问 · Temporarily unavailable — kechuang</title></head>
<body>
<h1>暂时无法访问</h1>
<p>数据库暂时无法连接，请稍后刷新本页。您的数据没有丢失。</p>
<h1 lang="en">Temporarily unavailable</h1>
<p lang="en">kechuang cannot reach its database just now. Reload this page in a few seconds; no data was lost.</p>
</body>
</html>
"""


def server_error(request, *args, **kwargs):
    """503 with Retry-After when the request failed because the database is unreachable (JSON
    under /api/, a plain page elsewhere); Django's own 500 page for any other error."""
    if not _database_unreachable():
        return defaults.server_error(request, *args, **kwargs)
    if request.path.startswith(API_PREFIX):
        answer = JsonResponse({"detail": "the database cannot be reached for the moment; try again in a few "
                                         "seconds"}, status=503)
    else:
        answer = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html; charset=utf-8")
    answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return answer


def _database_unreachable() -> bool:
    """Whether the exception being handled is, or was raised while handling, a failure to reach
    the database. (Django calls handler500 inside its `except` clause.)"""
    error, seen = sys.exc_info()[1], set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (OperationalError, InterfaceError)):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def page_not_found(request, exception, *args, **kwargs):
    """A URL under /api/ that no route serves (`/api/v1/bulletins/x/`, a resource that does not
    exist) is answered in JSON like every other refusal of the API; elsewhere, Django's page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "no such resource: see /api/v1/ and /api/docs/"}, status=404)
    return defaults.page_not_found(request, exception, *args, **kwargs)
