from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from example_project.notifications import webhooks

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("hooks/demo/", webhooks.receive, name="demo-webhook"),
    path("rest/v1/", include("triggers.api.urls")),
]
