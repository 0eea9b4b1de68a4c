"""Bot API methods that send messages."""

from __future__ import annotations

from typing import Any

from emulator.api_common import (
    consume_rate,
    document_dict,
    document_file,
    photo_files,
    resolve_reply,
    store_bot_message,
    target_chat,
    voice_dict,
)
from emulator.errors import bad_request
from emulator.models import BotMessage
from emulator.registry import CallContext, api_method
from emulator.validation import (
    FormattedText,
    check_caption,
    check_message_text,
    check_reply_markup,
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def _markup(ctx: CallContext) -> dict[str, Any] | None:
    return check_reply_markup(ctx.params.get_json("reply_markup", what="reply keyboard markup"))


def _caption(
    ctx: CallContext, raw: str | None = None, parse_mode: str | None = None
) -> FormattedText | None:
    params = ctx.params
    return check_caption(
        params.get_str("caption") if raw is None else raw,
        params.get_str("parse_mode") if parse_mode is None else parse_mode,
        params.get_json("caption_entities"),
        strict_ampersand=ctx.state.strict_html_ampersand,
    )


def _location(ctx: CallContext) -> dict[str, Any]:
    params = ctx.params
    latitude = params.get_float("latitude", empty_error="latitude is empty")
    longitude = params.get_float("longitude", empty_error="longitude is empty")
    assert latitude is not None and longitude is not None
    if not -90 <= latitude <= 90:
        raise bad_request("wrong latitude specified")
    if not -180 <= longitude <= 180:
        raise bad_request("wrong longitude specified")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
        value = params.get_float(key)
        if value is not None:
            location[key] = int(value) if key != "horizontal_accuracy" else value
    return location


@api_method("sendMessage")
async def send_message(ctx: CallContext) -> dict[str, Any]:
    params = ctx.params
    log = target_chat(ctx)
    text = check_message_text(
        params.get_str("text"),
        params.get_str("parse_mode"),
        params.get_json("entities"),
        strict_ampersand=ctx.state.strict_html_ampersand,
    )
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    consume_rate(ctx, log)
    content: dict[str, Any] = {}
    preview = params.get_json("link_preview_options")
    if isinstance(preview, dict):
        content["link_preview_options"] = preview
    message = store_bot_message(
        ctx, log, "text", content, text=text, reply_markup=markup, reply_to=reply_to
    )
    return message.raw


@api_method("sendPhoto")
async def send_photo(ctx: CallContext) -> dict[str, Any]:
    log = target_chat(ctx)
    caption = _caption(ctx)
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    sizes = photo_files(ctx)
    consume_rate(ctx, log)
    content: dict[str, Any] = {"photo": [size.photo_size() for size in sizes]}
    if ctx.params.get_bool("has_spoiler"):
        content["has_media_spoiler"] = True
    message = store_bot_message(
        ctx,
        log,
        "photo",
        content,
        caption=caption,
        reply_markup=markup,
        reply_to=reply_to,
        media=[sizes[-1].data],
    )
    return message.raw


@api_method("sendDocument")
async def send_document(ctx: CallContext) -> dict[str, Any]:
    log = target_chat(ctx)
    caption = _caption(ctx)
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    stored = document_file(ctx, "document")
    consume_rate(ctx, log)
    message = store_bot_message(
        ctx,
        log,
        "document",
        {"document": document_dict(stored)},
        caption=caption,
        reply_markup=markup,
        reply_to=reply_to,
        media=[stored.data],
        file_names=[stored.file_name],
    )
    return message.raw


@api_method("sendVoice")
async def send_voice(ctx: CallContext) -> dict[str, Any]:
    log = target_chat(ctx)
    caption = _caption(ctx)
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    stored = document_file(ctx, "voice")
    consume_rate(ctx, log)
    message = store_bot_message(
        ctx,
        log,
        "voice",
        {"voice": voice_dict(stored, ctx.params.get_int("duration"))},
        caption=caption,
        reply_markup=markup,
        reply_to=reply_to,
        media=[stored.data],
    )
    return message.raw


@api_method("sendLocation")
async def send_location(ctx: CallContext) -> dict[str, Any]:
    log = target_chat(ctx)
    location = _location(ctx)
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    consume_rate(ctx, log)
    message = store_bot_message(
        ctx, log, "location", {"location": location}, reply_markup=markup, reply_to=reply_to
    )
    return message.raw


@api_method("sendVenue")
async def send_venue(ctx: CallContext) -> dict[str, Any]:
    params = ctx.params
    log = target_chat(ctx)
    location = _location(ctx)
    title = params.get_str("title", empty_error="venue title is empty")
    address = params.get_str("address", empty_error="venue address is empty")
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    consume_rate(ctx, log)
    venue = {"location": location, "title": title, "address": address}
    message = store_bot_message(
        ctx,
        log,
        "venue",
        {"location": location, "venue": venue},
        reply_markup=markup,
        reply_to=reply_to,
    )
    return message.raw


@api_method("sendContact")
async def send_contact(ctx: CallContext) -> dict[str, Any]:
    params = ctx.params
    log = target_chat(ctx)
    contact = {
        "phone_number": params.get_str("phone_number", empty_error="phone number is empty"),
        "first_name": params.get_str("first_name", empty_error="first name is empty"),
    }
    if params.get_str("last_name"):
        contact["last_name"] = params.get_str("last_name")
    markup = _markup(ctx)
    reply_to = resolve_reply(ctx, log)
    consume_rate(ctx, log)
    message = store_bot_message(
        ctx, log, "contact", {"contact": contact}, reply_markup=markup, reply_to=reply_to
    )
    return message.raw


@api_method("sendMediaGroup")
async def send_media_group(ctx: CallContext) -> list[dict[str, Any]]:
    log = target_chat(ctx)
    media = ctx.params.get_json("media", what="media")
    if not isinstance(media, list):
        raise bad_request("can't parse media JSON object")
    if len(media) > 10:
        raise bad_request("Too much messages to send as an album")
    if len(media) < 2:
        raise bad_request("media must include 2-10 items")
    found = {item.get("type") if isinstance(item, dict) else None for item in media}
    types = {kind for kind in found if isinstance(kind, str)}
    if not types <= {"photo", "document", "video", "audio"} or len(types) != len(found):
        raise bad_request("can't parse InputMedia: unsupported media type")
    if len(types) > 1 and types & {"document", "audio"}:
        raise bad_request(
            f"{sorted(types & {'document', 'audio'})[0]} can't be mixed with other media types"
        )
    reply_to = resolve_reply(ctx, log)
    prepared: list[tuple[str, dict[str, Any], FormattedText | None, bytes, str | None]] = []
    for item in media:
        caption = _caption(ctx, item.get("caption") or "", item.get("parse_mode") or "")
        if item["type"] == "photo":
            sizes = photo_files(ctx, "media", item.get("media"))
            content: dict[str, Any] = {"photo": [size.photo_size() for size in sizes]}
            prepared.append(("photo", content, caption, sizes[-1].data, None))
        else:
            kind = "document" if item["type"] == "document" else item["type"]
            stored = document_file(ctx, "document", "media", item.get("media"))
            content = {kind: document_dict(stored)}
            prepared.append((kind, content, caption, stored.data, stored.file_name))
    consume_rate(ctx, log)  # an album counts as one send
    group_id = ctx.state.new_media_group_id()
    items: list[BotMessage] = []
    for index, (kind, content, caption, data, file_name) in enumerate(prepared):
        items.append(
            store_bot_message(
                ctx,
                log,
                kind,
                content,
                caption=caption,
                reply_to=reply_to if index == 0 else None,
                media=[data],
                file_names=[file_name],
                media_group_id=group_id,
                publish=False,
            )
        )
    first = items[0]
    album = BotMessage(
        chat_id=log.chat.id,
        message_id=first.message_id,
        kind="media_group",
        date=first.date,
        caption=next((item.caption for item in items if item.caption), None),
        caption_html=next((item.caption_html for item in items if item.caption_html), None),
        parse_mode=first.parse_mode,
        media=[item.media[0] for item in items],
        file_names=[item.file_names[0] for item in items],
        reply_to_message_id=first.reply_to_message_id,
        media_group_id=group_id,
        items=items,
        bot_id=ctx.bot.id,
        raw=first.raw,
    )
    log.timeline.append(album)
    log.publish(album)
    return [item.raw for item in items]


@api_method("sendChatAction")
async def send_chat_action(ctx: CallContext) -> bool:
    target_chat(ctx)
    action = ctx.params.get_str("action", empty_error="action is empty")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong type of chat action specified")
    return True
