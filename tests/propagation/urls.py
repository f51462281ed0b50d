from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tests.testapp.models import Article
from triggers.models import TriggerExecution

TITLE = "propagation"


@csrf_exempt
@require_POST
def save_article(request):
    """Change the status of the article and answer which triggers ran for that save."""
    article, _ = Article.objects.get_or_create(title=TITLE)
    last = TriggerExecution.objects.order_by("-id").values_list("id", flat=True).first() or 0
    article.status = "draft" if article.status == "published" else "published"
    article.save()
    runs = TriggerExecution.objects.filter(
        id__gt=last, model=Article._meta.label, object_pk=str(article.pk)
    ).order_by("id")
    return JsonResponse(
        {"fired": [{"trigger": r.trigger_name, "status": r.status} for r in runs]}
    )


urlpatterns = [path("save/", save_article)]
