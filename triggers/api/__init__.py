"""The management API under ``/rest/v1/`` (``docs/api.md``), built on Django REST framework.

A project mounts it with ``path("rest/v1/", include("triggers.api.urls"))``. Two surfaces:
the seed 004 endpoints (``/rest/v1/triggers/status/`` and friends) and PostgREST-compatible
collections and functions (``/rest/v1/triggers``, ``/rest/v1/trigger_executions``,
``/rest/v1/trigger_audit``, ``/rest/v1/rpc/<name>``), so that Supabase clients work unchanged.

- ``keys``: API keys, stored hashed (no DRF needed: the admin and the command use it);
- ``admin``: the admin for keys;
- ``errors``: every error as ``{code, message, details, hint}``;
- ``auth``: API keys and staff sessions, deny by default, the API's permissions;
- ``views``: the base view (auth, JSON, errors set per view, not by project defaults);
- ``grammar``: the PostgREST query language (filters, select, order, ranges, Prefer);
- ``tables``: the collections' columns and how filter values are read;
- ``query``: that language applied to a queryset or to rows in memory;
- ``commands``: what the endpoints do, shared by both surfaces;
- ``serializers``: request and response bodies;
- ``endpoints``: the seed 004 endpoints; ``resources``: the collections; ``rpc``: functions;
- ``schema`` and ``spectacular``: the OpenAPI document and the Swagger UI;
- ``urls``: the URLconf to include.

Only this package imports DRF; ``keys`` and ``admin`` work without it.
"""
