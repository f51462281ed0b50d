import factory
from django.contrib.auth import get_user_model

from example_project.shops.models import Shop
from example_project.sims.models import SimCard
from tests.testapp.models import Article


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Article {n}")


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    code = factory.Sequence(lambda n: f"S{n:03d}")


class SimCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimCard

    serial_number = factory.Sequence(lambda n: f"8901{n:08d}")
