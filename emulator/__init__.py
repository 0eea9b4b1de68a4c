"""A local Telegram Bot API emulator for end-to-end tests of the bot.

emu = BotApiEmulator()
await emu.start()
token = emu.create_bot()
bot = telegram.Bot(token, base_url=emu.base_url, base_file_url=emu.base_file_url)
amina = emu.add_user(1001, "Amina", language_code="ha")
await amina.send_command("start")
reply = await amina.next_message()
"""

from emulator.emulator import BotApiEmulator
from emulator.faults import FaultPlan
from emulator.groups import SimulatedGroup
from emulator.models import ApiCall, BotMessage, CallbackAnswer
from emulator.ratelimit import EmulatorLimits
from emulator.users import SimulatedUser

__all__ = [
    "ApiCall",
    "BotApiEmulator",
    "BotMessage",
    "CallbackAnswer",
    "EmulatorLimits",
    "FaultPlan",
    "SimulatedGroup",
    "SimulatedUser",
]
