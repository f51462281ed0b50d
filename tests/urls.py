from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

from tests.testapp.models import Article


@login_required
def publish(request, pk):
    """Save an article inside a request, so triggers see the request's user."""
    article = Article.objects.get(pk=pk)
    article.status = "published"
    article.save()
    return HttpResponse("ok")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("rest/v1/", include("triggers.api.urls")),
    path("publish/<int:pk>/", publish),
]
