"""One aiohttp ClientSession for the application's outgoing HTTP (the agencies' webhooks, report
and digest alike): opened on first use, inside the running event loop, and closed once when the
runner stops (bot/app/runner.py), so deliveries reuse connections instead of opening one each."""

from __future__ import annotations

from aiohttp import ClientSession


class HttpClient:
    def __init__(self) -> None:
        self._session: ClientSession | None = None
        self._closed = False

    def session(self) -> ClientSession:
        if self._closed:
            raise RuntimeError("the HTTP client is closed (the application is stopping)")
        if self._session is None:
            self._session = ClientSession()
        return self._session

    @property
    def opened(self) -> bool:
        return self._session is not None

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
