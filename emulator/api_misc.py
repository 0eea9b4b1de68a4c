"""Bot API methods about the bot itself, chats, members, files and callback queries."""

from __future__ import annotations

import json
import re
from typing import Any

from emulator.errors import bad_request
from emulator.files import MAX_DOWNLOAD_BYTES
from emulator.models import CallbackAnswer
from emulator.registry import CallContext, api_method
from emulator.state import Chat, ChatLog
from emulator.validation import check_callback_answer_text

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@api_method("getMe")
async def get_me(ctx: CallContext) -> dict[str, Any]:
    bot = ctx.bot
    return {
        **bot.to_user_dict(),
        "can_join_groups": bot.can_join_groups,
        "can_read_all_group_messages": bot.can_read_all_group_messages,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("logOut")
async def log_out(ctx: CallContext) -> bool:
    # After logOut the token stops working here, as it does on the cloud Bot API server.
    ctx.bot.logged_out = True
    return True


@api_method("close")
async def close(ctx: CallContext) -> bool:
    return True


# -- commands, menu button, descriptions ---------------------------------------------------------


def scope_key(scope: Any) -> str:
    """A stable key for a BotCommandScope object."""
    if scope is None:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(scope, sort_keys=True)


def _scope_and_language(ctx: CallContext) -> tuple[str, str]:
    scope = scope_key(ctx.params.get_json("scope", what="BotCommandScope"))
    return scope, ctx.params.get_str("language_code") or ""


@api_method("setMyCommands")
async def set_my_commands(ctx: CallContext) -> bool:
    commands = ctx.params.get_json("commands", what="commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    cleaned = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = str(command.get("command", "")).lstrip("/")
        description = str(command.get("description", ""))
        if not _COMMAND.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    key = _scope_and_language(ctx)
    if cleaned:
        ctx.bot.commands[key] = cleaned
    else:
        ctx.bot.commands.pop(key, None)
    return True


@api_method("getMyCommands")
async def get_my_commands(ctx: CallContext) -> list[dict[str, Any]]:
    return ctx.bot.commands.get(_scope_and_language(ctx), [])


@api_method("deleteMyCommands")
async def delete_my_commands(ctx: CallContext) -> bool:
    ctx.bot.commands.pop(_scope_and_language(ctx), None)
    return True


@api_method("setChatMenuButton")
async def set_chat_menu_button(ctx: CallContext) -> bool:
    button = ctx.params.get_json("menu_button", what="MenuButton") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
        raise bad_request("can't parse MenuButton JSON object")
    ctx.bot.menu_buttons[ctx.params.get_int("chat_id")] = button
    return True


@api_method("getChatMenuButton")
async def get_chat_menu_button(ctx: CallContext) -> dict[str, Any]:
    buttons = ctx.bot.menu_buttons
    chat_id = ctx.params.get_int("chat_id")
    return buttons.get(chat_id) or buttons.get(None) or {"type": "commands"}


def _setting(name: str, field: str) -> None:
    """setMyName/getMyName and friends: stored per language_code, read back verbatim."""

    async def setter(ctx: CallContext) -> bool:
        ctx.bot.settings[(name, ctx.params.get_str("language_code") or "")] = (
            ctx.params.get_str(field) or ""
        )
        return True

    async def getter(ctx: CallContext) -> dict[str, Any]:
        key = (name, ctx.params.get_str("language_code") or "")
        return {field: ctx.bot.settings.get(key, "")}

    api_method(f"setMy{name}")(setter)
    api_method(f"getMy{name}")(getter)


_setting("Name", "name")
_setting("Description", "description")
_setting("ShortDescription", "short_description")


# -- chats and members ----------------------------------------------------------------------------


def _known_chat(ctx: CallContext) -> ChatLog:
    chat_id = ctx.state.find_chat_id(ctx.params.chat_id())
    log = ctx.state.chat_log(ctx.bot, chat_id) if chat_id is not None else None
    if log is None:
        raise bad_request("chat not found")
    return log


def member_dict(ctx: CallContext, chat: Chat, member_id: int) -> dict[str, Any]:
    if member_id == ctx.bot.id:
        user = ctx.bot.to_user_dict()
        status = "member" if chat.type == "private" else chat.status_of(member_id, is_bot=True)
    else:
        account = ctx.state.users.get(member_id)
        other_bot = next((b for b in ctx.state.bots.values() if b.id == member_id), None)
        if account is None and other_bot is None:
            raise bad_request("user not found")
        user = account.to_dict() if account else other_bot.to_user_dict()  # type: ignore[union-attr]
        if chat.type == "private":
            status = "member" if member_id == chat.id else "left"
        else:
            status = chat.status_of(member_id, is_bot=other_bot is not None)
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(_ADMIN_RIGHTS)
        if member_id == ctx.bot.id:
            member["can_be_edited"] = False
    elif status == "kicked":
        member["until_date"] = 0
    return member


@api_method("getChatMember")
async def get_chat_member(ctx: CallContext) -> dict[str, Any]:
    log = _known_chat(ctx)
    user_id = ctx.params.get_int("user_id", empty_error="user not found")
    return member_dict(ctx, log.chat, user_id or 0)


@api_method("getChatAdministrators")
async def get_chat_administrators(ctx: CallContext) -> list[dict[str, Any]]:
    chat = _known_chat(ctx).chat
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    ids = [mid for mid, status in chat.members.items() if status in ("creator", "administrator")]
    if ctx.bot.id not in chat.members and chat.default_bot_status == "administrator":
        ids.append(ctx.bot.id)
    return [member_dict(ctx, chat, member_id) for member_id in ids]


@api_method("getChatMemberCount")
async def get_chat_member_count(ctx: CallContext) -> int:
    chat = _known_chat(ctx).chat
    if chat.type == "private":
        return 2
    present = [s for s in chat.members.values() if s not in ("left", "kicked")]
    bot_present = ctx.bot.id not in chat.members and chat.default_bot_status != "left"
    return len(present) + int(bot_present)


@api_method("getChat")
async def get_chat(ctx: CallContext) -> dict[str, Any]:
    chat = _known_chat(ctx).chat
    info = {
        **chat.to_dict(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    if chat.type == "private":
        account = ctx.state.users.get(chat.id)
        if account and account.username:
            info["username"] = account.username
    return info


@api_method("leaveChat")
async def leave_chat(ctx: CallContext) -> bool:
    chat = _known_chat(ctx).chat
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    if chat.status_of(ctx.bot.id, is_bot=True) in ("left", "kicked"):
        raise bad_request("USER_NOT_PARTICIPANT")
    chat.members[ctx.bot.id] = "left"
    return True


# -- files ------------------------------------------------------------------------------------------


@api_method("getFile")
async def get_file(ctx: CallContext) -> dict[str, Any]:
    file_id = ctx.params.get_str("file_id", empty_error="file_id not specified")
    stored = ctx.state.files.get(file_id or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return stored.file_info()


# -- callback queries -----------------------------------------------------------------------------


@api_method("answerCallbackQuery")
async def answer_callback_query(ctx: CallContext) -> bool:
    params, state = ctx.params, ctx.state
    query_id = params.get_str("callback_query_id", empty_error=QUERY_TOO_OLD) or ""
    query = ctx.bot.callback_queries.get(query_id)
    expired = query is not None and state.clock() - query.created > state.callback_answer_timeout
    if query is None or query.answered or expired:
        raise bad_request(QUERY_TOO_OLD)
    text = params.get_str("text")
    check_callback_answer_text(text)
    query.answered = True
    state.callback_answers.setdefault(query.user_id, []).append(
        CallbackAnswer(
            query_id=query_id,
            text=text,
            show_alert=params.get_bool("show_alert"),
            url=params.get_str("url"),
            cache_time=params.get_int("cache_time"),
        )
    )
    state.answers_signal.fire()
    return True
