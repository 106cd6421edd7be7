from django.urls import path

from . import views

urlpatterns = [
    path("statistics/report/", views.report, name="statistics-report"),
    path("statistics/review/", views.review, name="statistics-review"),
    path("statistics/figures/<int:pk>/decide/", views.decide, name="statistics-decide"),
]
