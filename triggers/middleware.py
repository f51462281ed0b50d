"""TriggerRequestMiddleware: lets triggers know which user made a change."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from .runtime import request_context


class TriggerRequestMiddleware:
    """Make the current request (and so ``request.user``) visible to triggers.

    The user is read lazily, only when a trigger asks for it, so the middleware may sit
    anywhere in ``MIDDLEWARE``; ``AuthenticationMiddleware`` must still run before the view.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        with request_context(request):
            return self.get_response(request)

    async def _acall(self, request):
        with request_context(request):
            return await self.get_response(request)
