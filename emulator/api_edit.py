"""Bot API methods that change or remove messages already sent."""

from __future__ import annotations

from typing import Any

from emulator.api_common import consume_rate, target_chat
from emulator.errors import bad_request
from emulator.models import BotMessage
from emulator.registry import CallContext, api_method
from emulator.state import ChatLog
from emulator.validation import check_caption, check_message_text, check_reply_markup

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
MEDIA_KINDS = frozenset({"photo", "document", "voice", "video", "audio", "animation"})


def _message_to_edit(ctx: CallContext) -> tuple[ChatLog, BotMessage]:
    params = ctx.params
    if params.has("inline_message_id") and not params.has("chat_id"):
        # The emulator has no inline mode, so no inline message can exist.
        raise bad_request("MESSAGE_ID_INVALID")
    log = target_chat(ctx)
    message_id = params.get_int("message_id", empty_error="message identifier is not specified")
    message = log.bot_messages.get(message_id or 0)
    if message is None or message.deleted:
        if message_id in log.user_messages:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")
    return log, message


def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _apply_markup(message: BotMessage, markup: dict[str, Any] | None) -> None:
    # An edit without reply_markup removes the inline keyboard, as on Telegram.
    message.reply_markup = markup
    if markup:
        message.raw["reply_markup"] = _inline_markup(markup)
    else:
        message.raw.pop("reply_markup", None)


def _finish_edit(ctx: CallContext, log: ChatLog, message: BotMessage) -> dict[str, Any] | bool:
    message.edit_count += 1
    message.raw["edit_date"] = ctx.state.now()
    log.publish(message)
    return message.raw


@api_method("editMessageText")
async def edit_message_text(ctx: CallContext) -> dict[str, Any] | bool:
    params = ctx.params
    log, message = _message_to_edit(ctx)
    text = check_message_text(
        params.get_str("text"),
        params.get_str("parse_mode"),
        params.get_json("entities"),
        strict_ampersand=ctx.state.strict_html_ampersand,
    )
    markup = check_reply_markup(
        params.get_json("reply_markup", what="reply keyboard markup"), inline_only=True
    )
    if message.kind != "text":
        raise bad_request("there is no text in the message to edit")
    if (
        text.text == message.text
        and text.entities == message.entities
        and _inline_markup(markup) == _inline_markup(message.reply_markup)
    ):
        raise bad_request(NOT_MODIFIED)
    consume_rate(ctx, log)
    message.text, message.html, message.entities = text.text, text.raw, text.entities
    message.parse_mode = text.parse_mode
    message.raw["text"] = text.text
    if text.entities:
        message.raw["entities"] = text.entities
    else:
        message.raw.pop("entities", None)
    preview = params.get_json("link_preview_options")
    if isinstance(preview, dict):
        message.raw["link_preview_options"] = preview
    _apply_markup(message, markup)
    return _finish_edit(ctx, log, message)


@api_method("editMessageCaption")
async def edit_message_caption(ctx: CallContext) -> dict[str, Any] | bool:
    params = ctx.params
    log, message = _message_to_edit(ctx)
    caption = check_caption(
        params.get_str("caption"),
        params.get_str("parse_mode"),
        params.get_json("caption_entities"),
        strict_ampersand=ctx.state.strict_html_ampersand,
    )
    markup = check_reply_markup(
        params.get_json("reply_markup", what="reply keyboard markup"), inline_only=True
    )
    if message.kind not in MEDIA_KINDS:
        raise bad_request("there is no caption in the message to edit")
    new_text = caption.text if caption else None
    new_entities = caption.entities if caption else []
    if (
        new_text == message.caption
        and new_entities == message.entities
        and _inline_markup(markup) == _inline_markup(message.reply_markup)
    ):
        raise bad_request(NOT_MODIFIED)
    consume_rate(ctx, log)
    message.caption = new_text
    message.caption_html = caption.raw if caption else None
    message.entities = new_entities
    message.parse_mode = caption.parse_mode if caption else None
    message.raw.pop("caption", None)
    message.raw.pop("caption_entities", None)
    if caption:
        message.raw["caption"] = caption.text
        if caption.entities:
            message.raw["caption_entities"] = caption.entities
    _apply_markup(message, markup)
    return _finish_edit(ctx, log, message)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(ctx: CallContext) -> dict[str, Any] | bool:
    log, message = _message_to_edit(ctx)
    markup = check_reply_markup(
        ctx.params.get_json("reply_markup", what="reply keyboard markup"), inline_only=True
    )
    if _inline_markup(markup) == _inline_markup(message.reply_markup):
        raise bad_request(NOT_MODIFIED)
    consume_rate(ctx, log)
    _apply_markup(message, markup)
    return _finish_edit(ctx, log, message)


def _delete_one(log: ChatLog, message_id: int, bot_may_delete_others: bool) -> bool:
    message = log.bot_messages.get(message_id)
    if message is not None and not message.deleted:
        message.deleted = True
        for entry in log.timeline:
            if entry.items and all(item.deleted for item in entry.items):
                entry.deleted = True
        return True
    if message_id in log.user_messages:
        if not bot_may_delete_others:
            raise bad_request("message can't be deleted")
        del log.user_messages[message_id]
        return True
    return False


def _may_delete_others(ctx: CallContext, log: ChatLog) -> bool:
    chat = log.chat
    return chat.type == "private" or chat.status_of(ctx.bot.id, is_bot=True) in (
        "administrator",
        "creator",
    )


@api_method("deleteMessage")
async def delete_message(ctx: CallContext) -> bool:
    log = target_chat(ctx)
    message_id = ctx.params.get_int("message_id", empty_error="message identifier is not specified")
    if not _delete_one(log, message_id or 0, _may_delete_others(ctx, log)):
        raise bad_request("message to delete not found")
    log.signal.fire()
    return True


@api_method("deleteMessages")
async def delete_messages(ctx: CallContext) -> bool:
    log = target_chat(ctx)
    ids = ctx.params.get_json("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be an array of 1-100 message identifiers")
    allowed = _may_delete_others(ctx, log)
    deleted = [_delete_one(log, int(message_id), allowed) for message_id in ids]
    if not any(deleted):
        raise bad_request("message to delete not found")
    log.signal.fire()
    return True
