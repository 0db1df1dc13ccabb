"""Development tools shared by the tests and the benchmarks; not part of the installed package.

    botapi.py         a strict fake Telegram Bot API (python -m hali_dev.botapi --port 8081)
    telegram_html.py  Telegram's HTML rules for message text, as the fake enforces them
"""
