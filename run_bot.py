"""Start Commitment Watch: `python run_bot.py --help` lists every option and command.

This is the composition root: it hands the Telegram handlers to the application, which lives in
bot/ and must not import handlers/ itself (imports go down: handlers -> bot -> storage).
"""

from __future__ import annotations

import sys

from bot.app.cli import main
from handlers import register_handlers


def entry() -> None:
    sys.exit(main(sys.argv[1:], register_handlers))


if __name__ == "__main__":
    entry()
