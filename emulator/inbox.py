"""Reading what the bot sent: unread-message cursors and reports for when nothing came."""

from __future__ import annotations

from emulator.models import BotMessage
from emulator.state import BotAccount, ChatLog, EmulatorState


def summary(message: BotMessage) -> str:
    flags = []
    if message.edited:
        flags.append(f"edited x{message.edit_count}")
    if message.deleted:
        flags.append("deleted")
    text = f"#{message.message_id} {message.kind} {message.body[:100]!r}"
    if message.buttons:
        text += f" buttons={message.buttons}"
    if message.reply_keyboard:
        text += f" reply_keyboard={message.reply_keyboard}"
    return text + (f" ({', '.join(flags)})" if flags else "")


async def read_next(
    state: EmulatorState,
    bot: BotAccount,
    log: ChatLog,
    cursors: dict[tuple[int, int], int],
    timeout: float,
    who: str,
) -> BotMessage:
    """The next unread message event in `log` for this reader; TimeoutError with a report."""
    key = (bot.id, log.chat.id)
    cursors.setdefault(key, 0)
    if await log.signal.wait_until(lambda: len(log.events) > cursors[key], timeout):
        event = log.events[cursors[key]]
        cursors[key] += 1
        return event
    raise TimeoutError(timeout_report(state, bot, log, cursors[key], timeout, who))


async def read_many(
    state: EmulatorState,
    bot: BotAccount,
    log: ChatLog,
    cursors: dict[tuple[int, int], int],
    n: int,
    timeout: float,
    who: str,
) -> list[BotMessage]:
    key = (bot.id, log.chat.id)
    start = cursors.setdefault(key, 0)
    if not await log.signal.wait_until(lambda: len(log.events) >= start + n, timeout):
        report = timeout_report(state, bot, log, start, timeout, who)
        raise TimeoutError(f"wanted {n} message(s), got {len(log.events) - start}. {report}")
    cursors[key] = start + n
    return log.events[start : start + n]


def timeout_report(
    state: EmulatorState, bot: BotAccount, log: ChatLog, read: int, timeout: float, who: str
) -> str:
    chat_id = log.chat.id
    lines = [f"{who}: no new message from @{bot.username} in chat {chat_id} within {timeout}s."]
    if log.events:
        lines.append(f"Already read {read} of {len(log.events)} message event(s):")
        lines.extend(f"  {summary(event)}" for event in log.events[-10:])
    else:
        lines.append("The bot has sent nothing to this chat.")
    failed = [
        call
        for call in state.calls[-300:]
        if call.status != 200 and str(call.params.get("chat_id")) == str(chat_id)
    ]
    if failed:
        lines.append("Failed bot calls for this chat:")
        lines.extend(
            f"  {call.method} -> {call.status} {call.description or call.fault or ''}"
            for call in failed[-5:]
        )
    queue = bot.updates
    if queue.pending:
        state_text = "webhook" if bot.webhook else "getUpdates"
        lines.append(
            f"{len(queue.pending)} update(s) still waiting for the bot ({state_text}); "
            "is it polling / is its webhook answering?"
        )
    return "\n".join(lines)
