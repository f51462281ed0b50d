"""The management API under ``/rest/v1/`` (``docs/api.md``), built on Django REST framework.

A project mounts it with ``path("rest/v1/", include("triggers.api.urls"))``. Two surfaces:
the seed 004 endpoints (``/rest/v1/triggers/status/`` and friends) and PostgREST-compatible
collections and functions (``/rest/v1/triggers``, ``/rest/v1/trigger_executions``,
``/rest/v1/trigger_audit``, ``/rest/v1/rpc/<name>``), so that Supabase clients work unchanged.

- ``errors``: every error as ``{code, message, details, hint}``, and its OpenAPI responses;
- ``auth``: API keys and staff sessions, deny by default, the API's permissions;
- ``prefer``: the ``Prefer`` header, and what ``tx=rollback`` does to a request;
- ``views``: the base view (auth, JSON, errors set per view, not by project defaults; the
  transaction ``Prefer: tx=rollback`` undoes);
- ``serializers``: request and response bodies;
- ``commands``: what the operations do;
- ``operations``: the table of operations, each declared once with its seed endpoint and its
  ``rpc`` function; ``surfaces``: the views of both, made from that table;
- ``postgrest``: the collections, with the PostgREST query language;
- ``schema`` and ``spectacular``: the OpenAPI document and the Swagger UI;
- ``urls``: the URLconf to include.

Only this package imports DRF. The API keys it checks are made and stored by
``triggers.apikeys`` (used by the admin and the command too, without DRF).
"""
