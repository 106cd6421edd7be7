"""The programmes' web pages (docs/programs.md): calls, applications, the review board, reviews."""

from django.urls import path

from . import views

urlpatterns = [
    path("programmes/calls/", views.calls, name="programs-calls"),
    path("programmes/calls/<slug:key>/", views.call, name="programs-call"),
    path("programmes/calls/<slug:key>/apply/", views.apply, name="programs-apply"),
    path("programmes/applications/", views.applications, name="programs-applications"),
    path("programmes/applications/<slug:key>/", views.application, name="programs-application"),
    path("programmes/applications/<slug:key>/edit/", views.edit, name="programs-application-edit"),
    path("programmes/applications/<slug:key>/withdraw/", views.withdraw, name="programs-application-withdraw"),
    path("programmes/applications/<slug:key>/attachments/<int:attachment_id>/", views.attachment,
         name="programs-attachment"),
    path("programmes/board/", views.board, name="programs-board"),
    path("programmes/board/<slug:key>/", views.board_project, name="programs-board-project"),
    path("programmes/reviews/", views.reviews, name="programs-reviews"),
    path("programmes/reviews/<int:pk>/", views.review, name="programs-review"),
]
