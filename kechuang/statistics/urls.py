from django.urls import path

from . import views

urlpatterns = [
    path("statistics/report/", views.report, name="statistics-report"),
    path("statistics/review/", views.review, name="statistics-review"),
    path("statistics/review/decide/", views.decide_many, name="statistics-decide-many"),
    path("statistics/figures/<int:pk>/decide/", views.decide, name="statistics-decide"),
    path("statistics/locks/", views.locks, name="statistics-locks"),
    path("statistics/locks/<int:pk>/unlock/", views.unlock, name="statistics-unlock"),
    path("statistics/completeness/", views.completeness, name="statistics-completeness"),
    path("statistics/import/", views.upload, name="statistics-import"),
    path("statistics/import/<int:pk>/", views.import_job, name="statistics-import-job"),
    path("statistics/import/<int:pk>/problems.xlsx", views.import_problems, name="statistics-import-problems"),
]
