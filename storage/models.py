"""SQLAlchemy models: the schema of Commitment Watch.

Any change here after a table has been released needs an Alembic migration in storage/migrations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        dict[str, str]: JSON,
    }


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    # Names per language code, e.g. {"en": "Ministry of Works", "ha": "..."}.
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Issue 7 (admin CLI): the digest schedule, in the agency's own time zone.
    digest_frequency: Mapped[str] = mapped_column(String(8), default="daily")  # daily, weekly, off
    digest_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday=0; used when weekly
    # Issue 7: delivery channels besides Telegram officials.
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret: Mapped[str | None] = mapped_column(String(255))
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Commitment(Base):
    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_lat_lon", "latitude", "longitude"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(255), unique=True)
    titles: Mapped[dict[str, str]] = mapped_column(default=dict)
    short_titles: Mapped[dict[str, str]] = mapped_column(default=dict)
    descriptions: Mapped[dict[str, str]] = mapped_column(default=dict)
    action_plan: Mapped[str | None] = mapped_column(String(255))
    theme: Mapped[str | None] = mapped_column(String(255), index=True)
    country: Mapped[str | None] = mapped_column(String(255))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # Code, titles and descriptions in every language, case- and accent-folded, for search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The OGP IRM's assessment as imported from the OGP export (bot/admin/ogp.py IRM_COLUMNS):
    # {"specificity": "High", "completion_end_of_term": "Substantial", ...}; None: not assessed.
    irm: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    agency: Mapped[Agency | None] = relationship(lazy="raise")


class CommitmentPartner(Base):
    """An institution named with the lead agency as carrying out a commitment (the OGP export's
    "Lead Institution" often lists several). Reports go to the lead agency, commitments.agency_id;
    partners are on record, each an agency of its own."""

    __tablename__ = "commitment_partners"

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # 1 for the first partner named after the lead, 2 for the next, ...
    position: Mapped[int] = mapped_column(Integer)


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The language the citizen chose with /language; None means "follow Telegram's".
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Blocked by a moderator or an admin: no new reports (bot/citizens/blocking.py). The reason
    # is a preset code or the text typed; blocked_by the moderator's Telegram id, None for admin.
    blocked_at: Mapped[datetime | None] = mapped_column()
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_by: Mapped[int | None] = mapped_column(BigInteger)


class MediaFile(Base):
    """Photo bytes with their metadata already stripped, addressed by content hash."""

    __tablename__ = "media_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_citizen_created", "citizen_id", "created_at"),
        # A commitment's reports by status, and by month or newest first, from the index alone
        # (storage/queries/scorecards.py: the scorecard's months and its page of reports).
        Index("ix_reports_commitment_status_created", "commitment_id", "status", "created_at"),
        Index("ix_reports_created", "created_at"),
        Index("ix_reports_lat_lon", "latitude", "longitude"),
        # Nearby duplicates on one commitment: SQLite's planner otherwise prefers the
        # commitment/status index and reads every open report of the commitment (bench/).
        Index("ix_reports_commitment_lat_lon", "commitment_id", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(255))
    voice_file_unique_id: Mapped[str | None] = mapped_column(String(128))
    voice_duration: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    # The text the public and agencies see once a moderator redacted it; None: the text as written.
    public_text: Mapped[str | None] = mapped_column(Text)
    # Set when a moderator merged this report into another one.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    # A moderator hid the report's photos from the public (they are public once it is, else).
    photos_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    commitment: Mapped[Commitment] = relationship(lazy="raise")
    photos: Mapped[list[ReportPhoto]] = relationship(
        lazy="raise", order_by="ReportPhoto.position", back_populates="report"
    )


class ReportPhoto(Base):
    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    telegram_file_id: Mapped[str] = mapped_column(String(255))
    telegram_file_unique_id: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(ForeignKey("media_files.sha256"))

    report: Mapped[Report] = relationship(lazy="raise", back_populates="photos")


class ReportEvent(Base):
    """Append-only history of a report: who moved it from which status to which, and why."""

    __tablename__ = "report_events"
    # The responsiveness figures read a report's status events from the first index alone
    # (storage/queries/scorecards.py); lookups by report_id use its first column.
    __table_args__ = (
        Index("ix_report_events_report_action", "report_id", "action", "to_status", "created_at"),
        # The newest notes first, whatever their report (a scorecard's latest agency answers).
        Index(
            "ix_report_events_noted",
            "created_at",
            "id",
            sqlite_where=text("note IS NOT NULL"),
            postgresql_where=text("note IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # citizen, moderator, official, system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    # What happened: "created", "status", "redacted", "moved", "question", "answer", "supported".
    action: Mapped[str] = mapped_column(String(32), default="status")
    # How the actor is named to other staff (a moderator's first name); never a citizen's.
    actor_name: Mapped[str | None] = mapped_column(String(128))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """A citizen's report in progress: the step they are at and what they entered so far."""

    __tablename__ = "drafts"

    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped on every change; buttons carry it so a stale button cannot change a newer draft.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """Something to send later (cards, deliveries, notifications), written with its cause."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(191), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # A message sent in parts (a card's voice note, photos, then its text): what Telegram has
    # accepted so far ({"parts": {name: {"ids": [...]} or {"lost": why}}}), so a retry resumes
    # after the last accepted part instead of sending it again.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Failed tries of the part in hand (the whole message, if it has one part): the retry
    # schedule counts these, and they start again at 0 when a part is accepted or given up.
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# --- Issue 7: admin command line (officials, roles, invites) ---------------------------------


class Official(Base):
    """A Telegram user who answers reports for an agency; joined through an invite link."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("agency_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    """Staff roles (moderator, admin) granted from the command line."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("telegram_user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficialInvite(Base):
    """A single-use, expiring invite for an agency official; only the token's hash is kept."""

    __tablename__ = "official_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    used_by: Mapped[int | None] = mapped_column(BigInteger)


# --- Moderation (issue 5) ---------------------------------------------------------------------


class ReportSupporter(Base):
    """A citizen who said "me too" on someone else's report, and follows it from then on."""

    __tablename__ = "report_supporters"
    __table_args__ = (UniqueConstraint("report_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # None: a supporter who erased their data since (/forget); the support still counts.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationCard(Base):
    """Where a report's card stands in the staff group, so it can be edited after each action."""

    __tablename__ = "moderation_cards"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Parts of the card Telegram refused for good: the card says so each time it is drawn.
    photos_lost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    voice_lost: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The card is the caption of the report's one photo: edited with editMessageCaption.
    caption: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ModeratorPrompt(Base):
    """A "reply to this message with ..." the bot asked a moderator; the reply completes it."""

    __tablename__ = "moderator_prompts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # redact, move, merge, ask
    moderator_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()


class ReportQuestion(Base):
    """A moderator's question to the citizen about their report, and the citizen's answer."""

    __tablename__ = "report_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[int] = mapped_column(BigInteger)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The message that carried the question to the citizen; their reply to it is the answer.
    citizen_message_id: Mapped[int | None] = mapped_column(BigInteger)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column()


# --- Open311 partners (POST requests with an API key) ------------------------------------------


class ApiKey(Base):
    """A partner channel's key for Open311 POST (a web form, an SMS gateway, a call centre).

    Only the key's SHA-256 is kept; the key itself is shown once, when it is made. Each partner
    files its reports as its own stand-in citizen (citizen_id; storage/queries/citizens.py
    without_telegram), who is nobody in Telegram and is never messaged."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner: Mapped[str] = mapped_column(String(64), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


# --- Issue 14: the durable inbox of updates ---------------------------------------------------


class InboxUpdate(Base):
    """An update from Telegram, written before Telegram is told it arrived (the webhook's 200, the
    next getUpdates offset), and marked done once handled: a worker that dies loses nothing, and a
    second delivery of the same update_id is not handled twice. A claim (claimed_by, lease_until)
    says which worker handles it; one sender's updates are handled in update_id order."""

    __tablename__ = "inbox"
    __table_args__ = (
        # The open rows, by sender then update_id: what a claim looks through.
        Index(
            "ix_inbox_open",
            "sender",
            "update_id",
            sqlite_where=sql_text("done_at IS NULL"),
            postgresql_where=sql_text("done_at IS NULL"),
        ),
        Index("ix_inbox_done_at", "done_at"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Whose order the update keeps: the user's id, or the chat's for a post without a user.
    # Both it and the payload are cleared once the update is done (storage/queries/inbox.py).
    sender: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # SHA-256 of the update as received: a second delivery has the same, a new update under an
    # id seen before does not.
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    # How many times a worker took it: more than once means a worker before began it and died
    # (or was cut off by its drain), so what it did may be done already.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done_at: Mapped[datetime | None] = mapped_column()


class SendPace(Base):
    """One shared pace for the bot token across workers (PostgreSQL): per key ("overall",
    "paid", "chat:<id>"), the theoretical arrival time of the next message under a generic cell
    rate algorithm, so that N workers together stay inside Telegram's limits
    (storage/queries/pace.py)."""

    __tablename__ = "send_pace"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[datetime] = mapped_column()
    step: Mapped[float] = mapped_column(Float)  # seconds between messages at the steady rate
    tolerance: Mapped[float] = mapped_column(Float)  # seconds of burst: (burst - 1) × step
