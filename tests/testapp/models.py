import uuid

from django.conf import settings
from django.db import models

from triggers import TriggerManager


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Article(models.Model):
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="draft")
    views = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    data = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    tags = models.ManyToManyField(Tag, blank=True)

    objects = TriggerManager()


class Note(models.Model):
    """A model no trigger watches."""

    text = models.CharField(max_length=200)


class Token(models.Model):
    """Primary key with a default: a new instance is always an INSERT."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


class Ticket(models.Model):
    """Primary key without a default: an instance built by hand may be an UPDATE."""

    number = models.IntegerField(primary_key=True)
    state = models.CharField(max_length=20, default="open")


class Counter(models.Model):
    """Used by loop-guard tests: an action that saves its own instance."""

    value = models.IntegerField(default=0)
