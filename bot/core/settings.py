"""Configuration from environment variables (and an optional .env file), validated at start.

Every problem is reported as a ConfigError naming the variable and what is expected, so the command
line can print one clear line instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from storage.db import (
    DATABASE_URL_ENV,
    DEFAULT_POOL_SIZE,
    default_database_url,
    normalize_database_url,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon and 35 url-safe characters.
TOKEN_PATTERN = re.compile(r"^\d{5,16}:[A-Za-z0-9_-]{30,64}$")
SUPPORTED_LOCALES = ("en", "fr", "es", "pt", "ar", "ha", "yo", "sw", "uk")

TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is {problem}: talk to @BotFather in Telegram, send /newbot, and put the "
    "token it gives you in TELEGRAM_BOT_TOKEN (environment or .env file). To try the bot offline "
    "without a token, run: python run_bot.py --sandbox"
)


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class RegionBounds:
    """The rectangle in which report locations are accepted."""

    south: float = -90.0
    west: float = -180.0
    north: float = 90.0
    east: float = 180.0

    def contains(self, latitude: float, longitude: float) -> bool:
        if not self.south <= latitude <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= longitude <= self.east
        # A box that crosses the antimeridian (west > east), e.g. Fiji.
        return longitude >= self.west or longitude <= self.east


def _parse_locale(raw: str) -> str:
    locale = raw.replace("-", "_").split("_")[0].lower()
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"expected one of {', '.join(SUPPORTED_LOCALES)}, got {raw!r}")
    return locale


def _parse_timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as Africa/Lagos, got {raw!r}") from None
    return raw


def _parse_bounds(raw: str) -> RegionBounds:
    parts = raw.split(",")
    expected = "expected south,west,north,east in degrees, e.g. 9.0,6.0,11.5,9.0"
    if len(parts) != 4:
        raise ValueError(f"{expected}; got {raw!r}")
    try:
        south, west, north, east = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{expected}; got {raw!r}") from None
    if not (-90 <= south <= 90 and -90 <= north <= 90 and south < north):
        raise ValueError(f"latitudes must lie in -90..90 with south < north; got {raw!r}")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ValueError(f"longitudes must lie in -180..180; got {raw!r}")
    return RegionBounds(south, west, north, east)


def _parse_chat_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"expected a numeric Telegram chat id such as -1001234567890, got {raw!r}"
        ) from None


def _parse_username(raw: str) -> str:
    name = raw.removeprefix("@")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]{4,31}$", name):
        raise ValueError(
            f"expected a Telegram bot username such as commitment_watch_bot, got {raw!r}"
        )
    return name


def _parse_url(raw: str) -> str:
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ValueError(f"expected an http(s) URL, got {raw!r}")
    return raw


def _parse_base_url(raw: str) -> str:
    """An http(s) origin, with a path if the server is published under one; no trailing slash."""
    parts = urlsplit(raw)
    if "@" in parts.netloc:  # not echoed: it may hold a password
        raise ValueError("expected an address without a user name or password")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or re.search(r"\s", raw)
    ):
        raise ValueError(
            f"expected the public address of the web server, such as https://watch.example.org, "
            f"got {raw!r}"
        )
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise ValueError(f"expected a port number in the address, got {raw!r}") from None
    return raw.rstrip("/")


def _parse_tile_url(raw: str) -> str:
    if not re.match(r"^https://[^\s/]+/\S*$", raw) or not all(
        part in raw for part in ("{z}", "{x}", "{y}")
    ):
        raise ValueError(
            "expected an https URL with {z}, {x} and {y}, e.g. "
            f"https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png, got {raw!r}"
        )
    return raw


def _number(raw: str, convert: Callable[[str], float], expected: str) -> float:
    """A number, or an error saying what was expected (not Python's "invalid literal")."""
    try:
        return convert(raw)
    except ValueError:
        raise ValueError(f"expected {expected}, got {raw!r}") from None


def _parse_days(raw: str) -> float:
    days = _number(raw, float, "days from 0 to 365")
    if not 0 <= days <= 365:
        raise ValueError(f"expected days from 0 to 365, got {raw!r}")
    return days


def _parse_retention_days(raw: str) -> int:
    expected = "a whole number of days from 1 to 36500, or 0 to keep forever"
    days = int(_number(raw, int, expected))
    if not 0 <= days <= 36_500:
        raise ValueError(f"expected {expected}, got {raw!r}")
    return days


def _parse_radius(raw: str) -> float:
    radius = _number(raw, float, "metres from 1 to 10000")
    if not 0 < radius <= 10_000:
        raise ValueError(f"expected metres from 1 to 10000, got {raw!r}")
    return radius


def _parse_rate(raw: str) -> float:
    rate = _number(raw, float, "messages per second from 0 (off) to 10000")
    if not 0 <= rate <= 10_000:
        raise ValueError(f"expected messages per second from 0 (off) to 10000, got {raw!r}")
    return rate


def _parse_recipients(raw: str) -> int:
    count = int(_number(raw, int, "a number of recipients, 0 (never) or more"))
    if count < 0:
        raise ValueError(f"expected a number of recipients, 0 (never) or more, got {raw!r}")
    return count


def _parse_count(upper: int, what: str, lowest: int = 1) -> Callable[[str], int]:
    """A whole number from `lowest` to `upper` (a limit, a count of seconds)."""
    expected = f"{what} from {lowest} to {upper}"

    def parse(raw: str) -> int:
        value = _number(raw, int, expected)
        if not lowest <= value <= upper:
            raise ValueError(f"expected {expected}, got {raw!r}")
        return int(value)

    return parse


def _parse_port(raw: str) -> int:
    port = int(_number(raw, int, "a port number 1..65535"))
    if not 1 <= port <= 65535:
        raise ValueError(f"expected a port number 1..65535, got {raw!r}")
    return port


def _parse_bool(raw: str) -> bool:
    value = raw.lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_mail_from(raw: str) -> str:
    if not re.match(r"^[^@\s<>]+@[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$", raw):
        raise ValueError(f"expected an address such as bot@example.org, got {raw!r}")
    return raw


def parse_log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return level


SettingParser = Callable[[str], Any]


@dataclass(frozen=True)
class Setting:
    """How one Settings field is read from the environment and shown in --help."""

    env: str
    help: str
    parse: SettingParser
    shown_default: str  # what --help shows as the default
    # A default computed from the values already loaded (SMTP_STARTTLS follows SMTP_TLS).
    derive: Callable[[Mapping[str, Any]], Any] | None = None


def setting(
    env: str,
    help: str,
    parse: SettingParser = str,
    *,
    default: Any = None,
    factory: Callable[[], Any] | None = None,
    shown: str | None = None,
    derive: Callable[[Mapping[str, Any]], Any] | None = None,
    secret: bool = False,
) -> Any:
    """A Settings field declared once: its variable, parser, default and help text."""
    if shown is None:
        shown = "none" if default is None else str(default)
    meta = {"setting": Setting(env, help, parse, shown, derive)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass(frozen=True)
class Settings:
    # Each setting is declared here once; load_settings() and `run_bot.py --help` read these.
    telegram_bot_token: str | None = setting(
        "TELEGRAM_BOT_TOKEN",
        "token from @BotFather (required to run against Telegram)",
        shown="none (required to run)",
    )
    telegram_api_base_url: str = setting(
        "TELEGRAM_API_BASE_URL",
        "Bot API server (a self-hosted one, or the emulator)",
        _parse_url,
        default=TELEGRAM_API_BASE_URL,
    )
    telegram_file_base_url: str | None = setting(
        "TELEGRAM_FILE_BASE_URL",
        "file download base",
        _parse_url,
        shown="derived from TELEGRAM_API_BASE_URL",
    )
    database_url: str = setting(
        DATABASE_URL_ENV,
        "sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db",
        normalize_database_url,
        factory=default_database_url,
        shown="sqlite+aiosqlite:///./data/commitment_watch.db",
    )
    # PostgreSQL only: a worker opens at most 3 x this + BOOKKEEPING_CONNECTIONS connections
    # (storage/db.py); all workers together must stay under the server's max_connections.
    database_pool_size: int = setting(
        "DATABASE_POOL_SIZE",
        "PostgreSQL connections a worker keeps (it opens up to 3x this under load)",
        _parse_count(200, "connections"),
        default=DEFAULT_POOL_SIZE,
    )
    default_locale: str = setting(
        "DEFAULT_LOCALE", ", ".join(SUPPORTED_LOCALES), _parse_locale, default="en"
    )
    timezone: str = setting(
        "TIMEZONE", "IANA time zone for dates shown to users", _parse_timezone, default="UTC"
    )
    region_bounds: RegionBounds = setting(  # noqa: RUF009 (a default_factory, not a shared default)
        "REGION_BOUNDS",
        "south,west,north,east in degrees where report locations are accepted",
        _parse_bounds,
        factory=RegionBounds,
        shown="the whole world",
    )
    # The region's name in words ("Kaduna State"), for the refusal of a location outside
    # REGION_BOUNDS; without it the refusal says "the area this service covers".
    region_name: str | None = setting(
        "REGION_NAME", "the region's name, said when a location outside REGION_BOUNDS is refused"
    )
    moderator_chat_id: int | None = setting(
        "MODERATOR_CHAT_ID", "the staff group's chat id", _parse_chat_id
    )
    # The language of cards in the staff group (moderators share one chat); default DEFAULT_LOCALE.
    moderator_locale: str | None = setting(
        "MODERATOR_LOCALE",
        "language of cards in the staff group",
        _parse_locale,
        shown="DEFAULT_LOCALE",
    )
    # A report this close to an open one on the same commitment is offered as "add your voice".
    duplicate_radius_m: float = setting(
        "DUPLICATE_RADIUS_M",
        "metres within which an open report is offered as a duplicate",
        _parse_radius,
        default=250.0,
        shown="250",
    )
    # Public outputs (open data, digests) show a report's place as the centre of a cell this wide,
    # so that no report points at a citizen's house; agencies' own channels keep the exact point.
    public_location_grid_m: float = setting(
        "PUBLIC_LOCATION_GRID_M",
        "metres: public outputs show locations snapped to a grid this coarse",
        _parse_radius,
        default=100.0,
        shown="100",
    )
    # The public pages' agency figures (median times, shares) are shown only over at least this
    # many reports; below it a page says there are too few reports to tell.
    public_min_sample: int = setting(
        "PUBLIC_MIN_SAMPLE",
        "reports a public figure (median time, share) needs before the pages show it",
        _parse_count(10_000, "reports"),
        default=5,
    )
    # The pages' responsiveness figures (an agency's medians and shares over all its reports,
    # costly at scale) are computed at most once per this many seconds per web process and shown
    # as computed meanwhile (bot/core/memo.py); 0 computes them on every request. Only figures:
    # a report that stops being public leaves every page at once.
    public_figures_cache_seconds: int = setting(
        "PUBLIC_FIGURES_CACHE_SECONDS",
        "seconds the pages reuse computed responsiveness figures (0: compute on every request)",
        _parse_count(3600, "seconds", lowest=0),
        default=60,
    )
    # The public map's tiles, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; without it
    # the map page lists the open reports (no tiles are fetched from anywhere).
    map_tile_url: str | None = setting(
        "MAP_TILE_URL",
        "tile URL template ({z}/{x}/{y}) for the public map page",
        _parse_tile_url,
        shown="none (a list, no map tiles)",
    )
    map_attribution: str | None = setting(
        "MAP_ATTRIBUTION",
        "the tiles' attribution shown under the map, e.g. © OpenStreetMap contributors",
    )
    # Days after "resolved" when the citizen is asked whether it really is fixed.
    fix_check_days: float = setting(
        "FIX_CHECK_DAYS",
        'days after "resolved" when the author is asked if it is fixed',
        _parse_days,
        default=7.0,
        shown="7",
    )
    # Retention (bot/citizens/retention.py): what is deleted, and after how many days; 0 keeps it.
    draft_retention_days: int = setting(
        "DRAFT_RETENTION_DAYS",
        "days after which an abandoned draft and its photos are deleted (0: never)",
        _parse_retention_days,
        default=30,
    )
    rejected_retention_days: int = setting(
        "REJECTED_RETENTION_DAYS",
        "days after rejection when a report's text, photos and voice note are deleted (0: never)",
        _parse_retention_days,
        default=90,
    )
    # Limits on abuse (issue 13): reports one citizen can send in any 24 hours (the draft of one
    # more is kept until then), and messages and button presses one account can send a minute
    # before a cool-down in which the bot ignores it (bot/app/flood.py).
    reports_per_day: int = setting(
        "REPORTS_PER_DAY",
        "reports one citizen can send in 24 hours",
        _parse_count(1000, "reports"),
        default=10,
    )
    flood_messages_per_minute: int = setting(
        "FLOOD_MESSAGES_PER_MINUTE",
        "messages and button presses a minute one account can send before its cool-down",
        _parse_count(10_000, "messages"),
        default=30,
    )
    flood_cooldown_seconds: int = setting(
        "FLOOD_COOLDOWN_SECONDS",
        "seconds the bot ignores an account that went over FLOOD_MESSAGES_PER_MINUTE",
        _parse_count(86_400, "seconds"),
        default=60,
    )
    # Open311 POST (bot/channels/web/open311.py): reports one partner's API key can file in any
    # minute; counted from the reports table, so it holds across restarts and workers.
    open311_posts_per_minute: int = setting(
        "OPEN311_POSTS_PER_MINUTE",
        "reports one partner's Open311 API key can file a minute (then 429 with Retry-After)",
        _parse_count(10_000, "reports"),
        default=30,
    )
    # The bot's @username, for deep links and QR codes; asked from Telegram (getMe) when unset.
    bot_username: str | None = setting(
        "BOT_USERNAME",
        "the bot's @username for deep links and QR codes",
        _parse_username,
        shown="asked from Telegram",
    )
    log_level: str = setting(
        "LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", parse_log_level, default="INFO"
    )
    # Our own pacing of outgoing messages: Telegram's 30/s, spread evenly (bot/app/bot_api.py
    # smooth_pace) so that no burst earns a 429 (bench/notify_bench.py). 0 turns it off, for a
    # self-hosted Bot API server or a benchmark.
    max_messages_per_second: float = setting(
        "TELEGRAM_MAX_MESSAGES_PER_SECOND",
        "the bot's own pacing of outgoing messages (0 turns it off)",
        _parse_rate,
        default=30.0,
        shown="30",
    )
    # Telegram's paid broadcasts: a status notice or digest fanned out to at least this many
    # people goes with allow_paid_broadcast (up to 1,000 messages/s, 0.1 Star per message,
    # from the bot's Stars balance). 0: never, the default.
    paid_broadcast_from: int = setting(
        "TELEGRAM_PAID_BROADCAST_FROM",
        "send fan-outs to at least this many people as paid broadcasts (0: never)",
        _parse_recipients,
        default=0,
        shown="0 (never)",
    )
    # Webhook mode (several workers behind a load balancer); empty means long polling.
    webhook_url: str | None = setting(
        "WEBHOOK_URL", "webhook mode instead of long polling", _parse_url, shown="none (polling)"
    )
    webhook_listen: str = setting(
        "WEBHOOK_LISTEN", "address the webhook server listens on", default="127.0.0.1"
    )
    webhook_port: int = setting(
        "WEBHOOK_PORT", "port the webhook server listens on", _parse_port, default=8443
    )
    webhook_secret: str | None = setting(
        "WEBHOOK_SECRET", "secret token Telegram sends with webhook updates", shown="random"
    )
    # The bot's own web server: the public pages, Open311, the open data and the agencies' status
    # endpoint (POST /agency/<code>/status); not started unless WEB_PORT is set (and required by
    # `serve-web`). Separate from the Telegram webhook server above.
    web_listen: str = setting(
        "WEB_LISTEN",
        "address of the web server (public pages, Open311, status endpoint)",
        default="127.0.0.1",
    )
    web_port: int | None = setting(
        "WEB_PORT",
        "port of the web server: public pages, Open311, status endpoint (off unless set)",
        _parse_port,
        shown="off",
    )
    # Running behind a load balancer: GET /healthz on the web server answers 503 when the oldest
    # due outbox message has waited longer than this (bot/channels/web/health.py); SIGTERM
    # drains for up to DRAIN_SECONDS (bot/app/runner.py).
    health_max_outbox_lag_seconds: int = setting(
        "HEALTH_MAX_OUTBOX_LAG_SECONDS",
        "seconds the oldest due outbox message may wait before /healthz answers 503",
        _parse_count(86_400, "seconds"),
        default=300,
    )
    drain_seconds: int = setting(
        "DRAIN_SECONDS",
        "on SIGTERM, seconds to let the updates and outbox batch in hand finish",
        _parse_count(3_600, "seconds"),
        default=20,
    )
    # The durable inbox (bot/app/inbox.py): a worker's hold on the updates it handles, renewed
    # while it lives; when a worker dies, what it held is handled by another after this long.
    inbox_lease_seconds: int = setting(
        "INBOX_LEASE_SECONDS",
        "seconds before another worker takes over the updates of a worker that died",
        _parse_count(3_600, "seconds"),
        default=15,
    )
    # Where the public reaches the web server (behind a proxy, its public name): the base of the
    # photo links in open data (media_url). Unset: the web answers link from the address each
    # request came to, and an export from the command line has no links.
    public_base_url: str | None = setting(
        "PUBLIC_BASE_URL",
        "public address of the web server, e.g. https://watch.example.org (photo links)",
        _parse_base_url,
        shown="the address each web request came to",
    )
    # E-mail to agencies' addresses; without SMTP_HOST no e-mail is queued at all.
    smtp_host: str | None = setting(
        "SMTP_HOST", "SMTP server for e-mail to agencies (none is sent without it)"
    )
    smtp_port: int | None = setting(
        "SMTP_PORT", "SMTP port", _parse_port, shown="465 with SMTP_TLS, else 587"
    )
    smtp_username: str | None = setting("SMTP_USERNAME", "SMTP login, if the server wants one")
    smtp_password: str | None = setting(
        "SMTP_PASSWORD", "SMTP password (never printed or logged)", secret=True
    )
    # STARTTLS unless the connection is TLS from the start: credentials never go in clear.
    smtp_starttls: bool = setting(
        "SMTP_STARTTLS",
        "STARTTLS after connecting (port 587)",
        _parse_bool,
        default=True,
        shown="true unless SMTP_TLS",
        derive=lambda loaded: not loaded["smtp_tls"],
    )
    smtp_tls: bool = setting(
        "SMTP_TLS",
        "TLS from the start (port 465); not with SMTP_STARTTLS",
        _parse_bool,
        default=False,
        shown="false",
    )
    mail_from: str | None = setting(
        "MAIL_FROM",
        "the sender, e.g. bot@example.org",
        _parse_mail_from,
        shown="none (required with SMTP_HOST)",
    )

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or (465 if self.smtp_tls else 587)

    @property
    def file_base_url(self) -> str:
        """The file download base; derived from the API base unless set explicitly."""
        if self.telegram_file_base_url:
            return self.telegram_file_base_url
        base = self.telegram_api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"

    @property
    def staff_locale(self) -> str:
        return self.moderator_locale or self.default_locale

    def require_token(self) -> str:
        """The token, or a ConfigError explaining how to get one."""
        token = self.telegram_bot_token
        if not token:
            raise ConfigError(TOKEN_HELP.format(problem="not set"))
        if not TOKEN_PATTERN.match(token):
            # Never echo the value: a malformed token may still be a real secret.
            raise ConfigError(
                TOKEN_HELP.format(
                    problem="malformed (expected digits, a colon, then 35 characters)"
                )
            )
        return token


def _check_mail(settings: Settings) -> Settings:
    if settings.smtp_tls and settings.smtp_starttls:
        raise ConfigError(
            "SMTP_TLS and SMTP_STARTTLS are both on: use one (SMTP_TLS=true for port 465, "
            "SMTP_STARTTLS=true for 587)"
        )
    if settings.smtp_host and not settings.mail_from:
        raise ConfigError("MAIL_FROM is required with SMTP_HOST, e.g. MAIL_FROM=bot@example.org")
    return settings


def declared_settings() -> list[tuple[str, Setting]]:
    """(attribute name, declaration) of every setting, in declaration order."""
    return [(f.name, f.metadata["setting"]) for f in fields(Settings) if "setting" in f.metadata]


def settings_help(indent: str = "  ") -> str:
    """The settings section of --help, generated from the declarations in Settings."""
    width = max(len(decl.env) for _, decl in declared_settings()) + 2
    return "\n".join(
        f"{indent}{decl.env.ljust(width)}{decl.help} (default: {decl.shown_default})"
        for _, decl in declared_settings()
    )


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Read settings from the environment, with values from a .env file as fallback."""
    env: dict[str, str] = {}
    dotenv_path = env_file if env_file is not None else Path.cwd() / ".env"
    if dotenv_path.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    loaded: dict[str, Any] = {}
    derived: list[tuple[str, Setting]] = []
    for name, decl in declared_settings():
        raw = env.get(decl.env)
        if raw is None or raw.strip() == "":
            if decl.derive is not None:
                derived.append((name, decl))
            continue  # the field's own default
        try:
            loaded[name] = decl.parse(raw.strip())
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{decl.env} is invalid: {exc}") from None
    defaults = Settings(**loaded)
    for name, decl in derived:
        assert decl.derive is not None
        loaded[name] = decl.derive({f.name: getattr(defaults, f.name) for f in fields(Settings)})
    return _check_mail(Settings(**loaded))
