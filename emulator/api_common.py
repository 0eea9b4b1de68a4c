"""Steps shared by the sending methods: find the chat, check rights and limits, store results."""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from emulator.errors import ApiError, bad_request, forbidden, too_many_requests
from emulator.files import MAX_UPLOAD_BYTES, StoredFile, photo_dimensions_ok
from emulator.models import BotMessage
from emulator.params import ATTACH_PREFIX, UploadedFile
from emulator.registry import CallContext
from emulator.state import ChatLog
from emulator.validation import FormattedText


def target_chat(ctx: CallContext) -> ChatLog:
    """The chat named by chat_id, if the bot may write there (400 / 403 otherwise)."""
    chat_id = ctx.state.find_chat_id(ctx.params.chat_id())
    log = ctx.state.chat_log(ctx.bot, chat_id) if chat_id is not None else None
    if log is None:
        raise bad_request("chat not found")
    chat = log.chat
    if chat.type == "private":
        if chat.id in ctx.bot.blocked_by:
            raise forbidden("bot was blocked by the user")
    else:
        status = chat.status_of(ctx.bot.id, is_bot=True)
        if status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if status == "left":
            raise forbidden(f"bot is not a member of the {chat.type} chat")
    return log


def consume_rate(ctx: CallContext, log: ChatLog) -> None:
    retry_after = ctx.state.rate_limiter.acquire(
        ctx.bot.id,
        log.chat.id,
        is_group=log.chat.is_group,
        paid=ctx.params.get_bool("allow_paid_broadcast"),
    )
    if retry_after is not None:
        raise too_many_requests(retry_after)


def resolve_reply(ctx: CallContext, log: ChatLog) -> dict[str, Any] | None:
    """The message being replied to (reply_parameters or the older reply_to_message_id)."""
    params = ctx.params
    reply_parameters = params.get_json("reply_parameters")
    if isinstance(reply_parameters, dict):
        message_id = reply_parameters.get("message_id")
        allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
    else:
        message_id = params.get_int("reply_to_message_id")
        allow_missing = params.get_bool("allow_sending_without_reply")
    if message_id is None:
        return None
    try:
        message_id = int(message_id)
    except (TypeError, ValueError):
        raise bad_request("message to be replied not found") from None
    bot_message = log.bot_messages.get(message_id)
    target: dict[str, Any] | None
    if bot_message is not None and not bot_message.deleted:
        target = bot_message.raw
    else:
        target = log.user_messages.get(message_id)
    if target is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    reply = copy.deepcopy(target)
    reply.pop("reply_to_message", None)  # Telegram does not nest replies further
    return reply


def store_bot_message(
    ctx: CallContext,
    log: ChatLog,
    kind: str,
    content: dict[str, Any],
    *,
    text: FormattedText | None = None,
    caption: FormattedText | None = None,
    reply_markup: dict[str, Any] | None = None,
    reply_to: dict[str, Any] | None = None,
    media: list[bytes] | None = None,
    file_names: list[str | None] | None = None,
    media_group_id: str | None = None,
    publish: bool = True,
) -> BotMessage:
    """Create the Message the Bot API answers with and the BotMessage tests read."""
    message_id = log.next_message_id()
    date = ctx.state.now()
    raw: dict[str, Any] = {
        "message_id": message_id,
        "from": ctx.bot.to_user_dict(),
        "chat": log.chat.to_dict(),
        "date": date,
    }
    if reply_to is not None:
        raw["reply_to_message"] = reply_to
    if media_group_id:
        raw["media_group_id"] = media_group_id
    raw.update(content)
    if text is not None:
        raw["text"] = text.text
        if text.entities:
            raw["entities"] = text.entities
    if caption is not None:
        raw["caption"] = caption.text
        if caption.entities:
            raw["caption_entities"] = caption.entities
    if ctx.params.get_bool("protect_content"):
        raw["has_protected_content"] = True
    if reply_markup and "inline_keyboard" in reply_markup:
        # Only inline keyboards belong to the message; reply keyboards belong to the chat.
        raw["reply_markup"] = {"inline_keyboard": reply_markup["inline_keyboard"]}
    shown = text or caption
    message = BotMessage(
        chat_id=log.chat.id,
        message_id=message_id,
        kind=kind,
        date=date,
        text=text.text if text else None,
        html=text.raw if text else None,
        caption=caption.text if caption else None,
        caption_html=caption.raw if caption else None,
        parse_mode=shown.parse_mode if shown else None,
        entities=shown.entities if shown else [],
        reply_markup=reply_markup,
        media=list(media or []),
        file_names=list(file_names or []),
        location=content.get("location"),
        venue=content.get("venue"),
        reply_to_message_id=reply_to["message_id"] if reply_to else None,
        media_group_id=media_group_id,
        bot_id=ctx.bot.id,
        raw=raw,
    )
    log.bot_messages[message_id] = message
    if publish:
        log.timeline.append(message)
        log.publish(message)
    return message


_FROM_PARAMS: Any = object()


def upload_or_file_id(
    ctx: CallContext, name: str, value: Any = _FROM_PARAMS
) -> UploadedFile | str | None:
    """An upload (multipart part) or a file_id / URL string for parameter `name`.

    `value` overrides the parameter's value (media group items carry their own "media").
    """
    params = ctx.params
    if value is not _FROM_PARAMS:
        if isinstance(value, str) and value.startswith(ATTACH_PREFIX):
            return params.attachment(value)
        return value if isinstance(value, str) and value else None
    value = params.get_raw(name)
    if isinstance(value, str) and value.startswith(ATTACH_PREFIX):
        return params.attachment(value)
    part = params.files.get(name)
    if part is not None and not value:
        return part
    if isinstance(value, str) and value:
        return value
    return part


def _check_upload(part: UploadedFile) -> None:
    if not part.data:
        raise bad_request("file must be non-empty")
    if len(part.data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")


def _existing_file(ctx: CallContext, ref: str, kind: str) -> StoredFile:
    if ref.lower().startswith(("http://", "https://")):
        # The emulator never leaves 127.0.0.1, so it cannot fetch URLs for the bot.
        raise bad_request("wrong file identifier/HTTP URL specified")
    stored = ctx.state.files.get(ref)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(
            f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
        )
    return stored


def photo_files(
    ctx: CallContext, name: str = "photo", value: Any = _FROM_PARAMS
) -> list[StoredFile]:
    ref = upload_or_file_id(ctx, name, value)
    if ref is None:
        raise bad_request("there is no photo in the request")
    if isinstance(ref, str):
        stored = _existing_file(ctx, ref, "photo")
        return ctx.state.files.photo_group(stored)
    _check_upload(ref)
    try:
        sizes = ctx.state.files.add_photo(ref.data)
    except ValueError:
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    largest = sizes[-1]
    if not photo_dimensions_ok(largest.width or 0, largest.height or 0):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return sizes


def document_file(
    ctx: CallContext, kind: str = "document", name: str | None = None, value: Any = _FROM_PARAMS
) -> StoredFile:
    name = name or kind
    ref = upload_or_file_id(ctx, name, value)
    if ref is None:
        raise bad_request(f"there is no {kind} in the request")
    if isinstance(ref, str):
        return _existing_file(ctx, ref, kind)
    _check_upload(ref)
    mime_type = ref.content_type
    if kind == "document" and (not mime_type or mime_type == "application/octet-stream"):
        mime_type = mimetypes.guess_type(ref.filename or "")[0] or mime_type
    if kind == "voice":
        mime_type = "audio/ogg"
    return ctx.state.files.add(
        ref.data,
        kind,
        mime_type=mime_type,
        file_name=ref.filename if kind == "document" else None,
        duration=ctx.params.get_int("duration") if kind == "voice" else None,
    )


def document_dict(stored: StoredFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data


def voice_dict(stored: StoredFile, duration: int | None) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": duration if duration is not None else stored.duration or 0,
        "mime_type": stored.mime_type or "audio/ogg",
        "file_size": stored.size,
    }
