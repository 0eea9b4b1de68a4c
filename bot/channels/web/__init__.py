"""The web server: Open311 for the public, the status endpoint for agencies' systems."""

from bot.channels.web.server import AgencyWebServer

__all__ = ["AgencyWebServer"]
