"""Telegram's answers, byte for byte where it matters, seen with plain aiohttp requests."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from emulator import BotApiEmulator

pytestmark = pytest.mark.asyncio

BAD = "Bad Request: "


async def test_get_me_and_the_ok_envelope(raw, emu: BotApiEmulator) -> None:
    status, body = await raw.call("getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "commitment_watch_bot"
    assert body["result"]["id"] == int(raw.token.split(":")[0])


async def test_unknown_method_is_404_not_found(raw) -> None:
    assert await raw.call("sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_unknown_token_is_401_and_malformed_token_404(raw) -> None:
    unknown = "123456789:AAH" + "x" * 32
    assert await raw.call("getMe", token=unknown) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await raw.call("getMe", token="not-a-token")
    assert (status, body["description"]) == (404, "Not Found")


async def test_method_names_are_case_insensitive_and_get_works(raw) -> None:
    status, body = await raw.call("getme", http="GET")
    assert status == 200 and body["ok"]


async def test_every_parameter_encoding_is_understood(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    emu.limits.enabled = False
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    url = f"{emu.base_url}{raw.token}/sendMessage"
    session: aiohttp.ClientSession = raw.session
    # form-urlencoded with a JSON-encoded object, as python-telegram-bot sends it
    form = {"chat_id": "1001", "text": "form", "reply_markup": json.dumps(markup)}
    async with session.post(url, data=form) as response:
        assert (await response.json())["result"]["reply_markup"] == markup
    # multipart without files
    multipart = aiohttp.FormData(
        {"chat_id": "1001", "text": "multipart"}, default_to_multipart=True
    )
    async with session.post(url, data=multipart()) as response:
        assert (await response.json())["result"]["text"] == "multipart"
    # query string on a GET
    async with session.get(url, params={"chat_id": "1001", "text": "query"}) as response:
        assert (await response.json())["result"]["text"] == "query"
    # JSON with a JSON-encoded string inside (Telegram accepts both)
    status, body = await raw.call(
        "sendMessage", chat_id=1001, text="j", reply_markup=json.dumps(markup)
    )
    assert status == 200 and body["result"]["reply_markup"] == markup
    assert [m.text for m in emu.sent_messages(1001)] == ["form", "multipart", "query", "j"]


async def test_send_message_errors(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    cases = [
        ({"chat_id": 999, "text": "x"}, "chat not found"),
        ({"text": "x"}, "chat_id is empty"),
        ({"chat_id": 1001, "text": ""}, "message text is empty"),
        ({"chat_id": 1001}, "message text is empty"),
        ({"chat_id": 1001, "text": "x" * 4097}, "message is too long"),
        ({"chat_id": 1001, "text": "😀" * 2049}, "message is too long"),
        ({"chat_id": 1001, "text": "<b>unclosed", "parse_mode": "HTML"}, "can't parse entities: "),
        ({"chat_id": 1001, "text": "a < b", "parse_mode": "HTML"}, "can't parse entities: "),
        ({"chat_id": 1001, "text": "x", "parse_mode": "Klingon"}, "unsupported parse_mode"),
        (
            {"chat_id": 1001, "text": "x", "reply_to_message_id": 77},
            "message to be replied not found",
        ),
    ]
    for params, description in cases:
        status, body = await raw.call("sendMessage", **params)
        assert status == 400, params
        assert body["ok"] is False and body["error_code"] == 400
        assert body["description"].startswith(BAD + description), (params, body)


async def test_html_that_telegram_accepts(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    html = '<b>Road</b> &lt;KAD-RD-017&gt; &amp; <a href="https://x.org/?a=1&amp;b=2">more</a>'
    status, body = await raw.call("sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    assert status == 200
    assert body["result"]["text"] == "Road <KAD-RD-017> & more"
    assert {e["type"] for e in body["result"]["entities"]} == {"bold", "text_link"}
    # Without parse_mode the same text is sent literally.
    status, body = await raw.call("sendMessage", chat_id=1001, text="a < b & <b>")
    assert status == 200 and body["result"]["text"] == "a < b & <b>"


async def test_4096_utf16_units_is_the_exact_limit(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    status, _ = await raw.call("sendMessage", chat_id=1001, text="😀" * 2048)
    assert status == 200
    status, _ = await raw.call(
        "sendMessage", chat_id=1001, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"
    )
    assert status == 200  # tags do not count, only the visible text


async def test_keyboard_validation(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")

    async def send(button: dict) -> tuple[int, str]:
        status, body = await raw.call(
            "sendMessage",
            chat_id=1001,
            text="pick",
            reply_markup={"inline_keyboard": [[button]]},
        )
        return status, body.get("description", "")

    assert (await send({"text": "ok", "callback_data": "x" * 64}))[0] == 200
    assert await send({"text": "big", "callback_data": "x" * 65}) == (
        400,
        BAD + "BUTTON_DATA_INVALID",
    )
    # 64 bytes, not characters: 22 three-byte characters are 66 bytes.
    assert await send({"text": "utf8", "callback_data": "€" * 22}) == (
        400,
        BAD + "BUTTON_DATA_INVALID",
    )
    status, description = await send({"callback_data": "x"})
    assert status == 400 and "text" in description
    status, description = await send({"text": "", "callback_data": "x"})
    assert status == 400
    status, description = await send({"text": "no action"})
    assert status == 400 and "Text buttons are unallowed" in description


async def test_edit_and_delete_errors(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    _, body = await raw.call("sendMessage", chat_id=1001, text="<b>v1</b>", parse_mode="HTML")
    message_id = body["result"]["message_id"]

    status, body = await raw.call(
        "editMessageText", chat_id=1001, message_id=message_id, text="<b>v1</b>", parse_mode="HTML"
    )
    assert status == 400
    assert body["description"].startswith(BAD + "message is not modified: ")
    # Same characters without the bold entity is a real change.
    status, _ = await raw.call("editMessageText", chat_id=1001, message_id=message_id, text="v1")
    assert status == 200
    assert await raw.call("editMessageText", chat_id=1001, message_id=999, text="x") == (
        400,
        {"ok": False, "error_code": 400, "description": BAD + "message to edit not found"},
    )
    assert (await raw.call("deleteMessage", chat_id=1001, message_id=message_id))[0] == 200
    assert await raw.call("deleteMessage", chat_id=1001, message_id=message_id) == (
        400,
        {"ok": False, "error_code": 400, "description": BAD + "message to delete not found"},
    )
    status, body = await raw.call("editMessageText", chat_id=1001, message_id=message_id, text="y")
    assert body["description"] == BAD + "message to edit not found"


async def test_blocked_user_gets_403(raw, emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Amina")
    emu.block_bot(1001)
    assert await raw.call("sendMessage", chat_id=1001, text="hi") == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    emu.unblock_bot(1001)
    assert (await raw.call("sendMessage", chat_id=1001, text="hi"))[0] == 200


async def test_answering_a_callback_query_twice_or_unknown(raw, emu: BotApiEmulator) -> None:
    amina = emu.add_user(1001, "Amina")
    await raw.call(
        "sendMessage",
        chat_id=1001,
        text="pick",
        reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]},
    )
    query_id = await amina.press_button("Yes")
    too_old = BAD + "query is too old and response timeout expired or query ID is invalid"
    assert await raw.call("answerCallbackQuery", callback_query_id=query_id, text="Thanks") == (
        200,
        {"ok": True, "result": True},
    )
    status, body = await raw.call("answerCallbackQuery", callback_query_id=query_id)
    assert (status, body["description"]) == (400, too_old)
    status, body = await raw.call("answerCallbackQuery", callback_query_id="12345")
    assert (status, body["description"]) == (400, too_old)
    assert [a.text for a in amina.callback_answers] == ["Thanks"]


async def test_callback_queries_expire_on_the_emulator_clock(
    raw, emu: BotApiEmulator, clock
) -> None:
    amina = emu.add_user(1001, "Amina")
    await raw.call(
        "sendMessage",
        chat_id=1001,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    query_id = await amina.press_button("A")
    clock.advance(emu.state.callback_answer_timeout + 1)
    status, _ = await raw.call("answerCallbackQuery", callback_query_id=query_id)
    assert status == 400


async def test_get_chat_member_statuses(raw, emu: BotApiEmulator) -> None:
    amina, bello, chidi, dayo = (
        emu.add_user(1001, "Amina"),
        emu.add_user(1002, "Bello"),
        emu.add_user(1003, "Chidi"),
        emu.add_user(1004, "Dayo"),
    )
    group = emu.add_group(-100123, "Staff", members=[bello], admins=[chidi], creator=amina)

    async def status_of(user_id: int) -> tuple[int, str]:
        status, body = await raw.call("getChatMember", chat_id=-100123, user_id=user_id)
        return status, body["result"]["status"] if status == 200 else body["description"]

    assert await status_of(1001) == (200, "creator")
    assert await status_of(1003) == (200, "administrator")
    assert await status_of(1002) == (200, "member")
    assert await status_of(1004) == (200, "left")
    assert await status_of(424242) == (400, BAD + "user not found")
    group.remove_member(bello)
    assert await status_of(1002) == (200, "left")
    group.add_member(dayo)
    assert await status_of(1004) == (200, "member")
    status, body = await raw.call("getChatMember", chat_id=-100999, user_id=1001)
    assert (status, body["description"]) == (400, BAD + "chat not found")
    status, body = await raw.call("getChat", chat_id=-100123)
    assert body["result"]["type"] == "supergroup" and body["result"]["title"] == "Staff"


async def test_get_updates_conflicts_with_an_active_webhook(raw) -> None:
    status, _ = await raw.call("setWebhook", url="http://127.0.0.1:9/hook")
    assert status == 200
    assert await raw.call("getUpdates") == (
        409,
        {
            "ok": False,
            "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        },
    )
    assert (await raw.call("deleteWebhook"))[0] == 200
    assert await raw.call("getUpdates") == (200, {"ok": True, "result": []})


async def test_webhooks_only_go_to_loopback(raw) -> None:
    status, body = await raw.call("setWebhook", url="https://example.org/hook")
    assert status == 400 and body["description"].startswith(BAD + "bad webhook")


async def test_commands_are_stored_per_scope_and_language(raw, emu: BotApiEmulator) -> None:
    scope = {"type": "all_private_chats"}
    english = [{"command": "report", "description": "Report on a commitment"}]
    hausa = [{"command": "report", "description": "Bayar da rahoto"}]
    assert (await raw.call("setMyCommands", commands=english, scope=scope))[0] == 200
    assert (await raw.call("setMyCommands", commands=hausa, scope=scope, language_code="ha"))[
        0
    ] == 200
    _, body = await raw.call("getMyCommands", scope=scope, language_code="ha")
    assert body["result"] == hausa
    assert emu.commands(language_code="ha") == hausa
    assert emu.commands(language_code="fr") == english  # falls back like Telegram
    assert emu.commands(scope="default") == []
    status, body = await raw.call(
        "setMyCommands", commands=[{"command": "Bad Name!", "description": "x"}]
    )
    assert status == 400
    await raw.call("deleteMyCommands", scope=scope, language_code="ha")
    assert emu.commands(language_code="ha") == english


async def test_calls_are_recorded(raw, emu: BotApiEmulator) -> None:
    await raw.call("getMe")
    await raw.call("nope")
    assert [(c.method, c.status) for c in emu.calls] == [("getMe", 200), ("nope", 404)]
    method, params, status = emu.calls[0]
    assert (method, params, status) == ("getMe", {}, 200)


async def test_a_second_poller_ends_the_first_with_409(raw) -> None:
    first = asyncio.ensure_future(raw.call("getUpdates", timeout=20))
    bot = raw.emu.state.bot()
    await bot.updates.signal.wait_until(lambda: bot.poll_generation == 1, 5)
    second = asyncio.ensure_future(raw.call("getUpdates", timeout=0))
    status, body = await asyncio.wait_for(first, 5)
    assert (status, body["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    )
    assert await second == (200, {"ok": True, "result": []})


async def test_downloads_need_a_valid_token_and_path(raw, emu: BotApiEmulator, make_jpeg) -> None:
    amina = emu.add_user(1001, "Amina")
    update = await amina.send_photo(make_jpeg(64, 64))
    file_id = update["message"]["photo"][-1]["file_id"]
    _, body = await raw.call("getFile", file_id=file_id)
    path = body["result"]["file_path"]
    async with raw.session.get(f"{emu.base_file_url}{raw.token}/{path}") as response:
        assert response.status == 200 and await response.read() == make_jpeg(64, 64)
    async with raw.session.get(f"{emu.base_file_url}{raw.token}/photos/nope.jpg") as response:
        assert response.status == 404
    async with raw.session.get(f"{emu.base_file_url}123:AAH{'z' * 32}/{path}") as response:
        assert response.status == 404
    status, body = await raw.call("getFile", file_id="AgACAgIAAxkBAAbogus")
    assert (status, body["description"]) == (400, BAD + "invalid file_id")


async def test_groups_the_bot_left_answer_403(raw, emu: BotApiEmulator) -> None:
    emu.add_group(-100123, "Staff")
    assert (await raw.call("sendMessage", chat_id=-100123, text="hi"))[0] == 200
    assert (await raw.call("leaveChat", chat_id=-100123))[0] == 200
    assert await raw.call("sendMessage", chat_id=-100123, text="hi") == (
        403,
        {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot is not a member of the supergroup chat",
        },
    )
