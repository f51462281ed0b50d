"""The PostgREST-compatible collections ``/rest/v1/triggers``, ``/rest/v1/trigger_executions``
and ``/rest/v1/trigger_audit``, so that Supabase clients work unchanged.

- ``grammar``: the query language parsed (filters, select, order, ranges);
- ``tables``: the collections' columns and how filter values are read;
- ``query``: that language applied to a queryset or to rows in memory;
- ``resources``: the collections' views.
"""
