"""The fake Bot API is as strict as Telegram, proven through PTB's own Bot and Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from hali_dev.botapi import TOKEN, FakeBotAPI
from hali_dev.telegram_html import parse_html, utf16_len

CHAT = 4242
# One TLS context for every client: building a fresh one per httpx client costs ~70 ms.
_TLS = ssl.create_default_context()


def _request() -> HTTPXRequest:
    return HTTPXRequest(httpx_kwargs={"verify": _TLS})


def _bot(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=api.base_url, request=_request(), get_updates_request=_request())


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with _bot(api) as ptb_bot:
        yield ptb_bot


def _retry_seconds(error: RetryAfter) -> float:
    value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


# ---------------------------------------------------------------- basics


async def test_get_me_describes_the_hali_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.first_name == "Hali"
    assert me.username == "hali_test_bot"
    assert me.is_bot and me.can_join_groups
    assert me.id == int(TOKEN.split(":")[0])


async def test_it_accepts_valid_html_and_records_it(api: FakeBotAPI, bot: Bot) -> None:
    html = (
        '<b>Huduma</b> &amp; <i>eCitizen</i> <a href="https://www.ecitizen.go.ke/?a=1&amp;b=2">site</a> '
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> <u>u</u> <s>s</s> &lt;ok&gt; '
        '&#x1F600; &#65; <pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>quote</blockquote>"
    )
    message = await bot.send_message(CHAT, html, parse_mode=ParseMode.HTML)

    assert message.text.startswith("Huduma & eCitizen site s t u s <ok> 😀 A x = 1")
    kinds = [entity.type for entity in message.entities]
    assert kinds == [
        "bold",
        "italic",
        "text_link",
        "spoiler",
        "spoiler",
        "underline",
        "strikethrough",
        "pre",
        "expandable_blockquote",
    ]
    assert message.entities[2].url == "https://www.ecitizen.go.ke/?a=1&b=2"
    assert message.entities[7].language == "python"
    # Entity offsets are UTF-16: the emoji before "A" takes two units.
    assert message.parse_entity(message.entities[7]) == "x = 1"
    [record] = api.messages_to(CHAT)
    assert record.text == html
    assert record.parse_mode == "HTML"
    assert record.plain_text == message.text
    assert record.message_id == message.message_id


async def test_it_records_the_reply_markup_as_a_dict(api: FakeBotAPI, bot: Bot) -> None:
    markup = _keyboard(InlineKeyboardButton("Ndiyo", callback_data="lang:sw"))
    message = await bot.send_message(CHAT, "Lugha?", reply_markup=markup)

    assert message.reply_markup == markup
    assert api.sent[0].reply_markup == {"inline_keyboard": [[{"text": "Ndiyo", "callback_data": "lang:sw"}]]}


async def test_message_ids_count_up_per_chat_across_user_and_bot_messages(api: FakeBotAPI, bot: Bot) -> None:
    incoming = api.text_message(CHAT, "habari")
    first = await bot.send_message(CHAT, "one")
    other_chat = await bot.send_message(CHAT + 1, "one")

    assert incoming["message"]["message_id"] == 1
    assert first.message_id == 2
    assert other_chat.message_id == 1


# ---------------------------------------------------------------- HTML strictness


async def test_it_rejects_an_unclosed_tag(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: can't find end tag"):
        await bot.send_message(CHAT, "<b>bold", parse_mode=ParseMode.HTML)

    failed = api.requests[-1]
    assert failed.error_code == 400
    assert failed.description == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )
    assert api.sent == []


@pytest.mark.parametrize(
    ("html", "description"),
    [
        pytest.param("<div>x</div>", 'Unsupported start tag "div" at byte offset 0', id="an_unsupported_tag"),
        pytest.param("é <br>", 'Unsupported start tag "br" at byte offset 3', id="offsets_counted_in_bytes"),
        pytest.param(
            "<b>x</i>",
            'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
            id="a_mismatched_end_tag",
        ),
        pytest.param("x</b>", "Unexpected end tag at byte offset 1", id="an_end_tag_never_opened"),
        pytest.param("1 < 2", 'Unsupported start tag "" at byte offset 2', id="a_bare_less_than"),
        pytest.param("a <", "Unclosed start tag at byte offset 2", id="a_less_than_at_the_end"),
        pytest.param("2 > 1", 'Character ">" must be escaped as "&gt;" at byte offset 2', id="a_bare_gt"),
        pytest.param("A & B", 'Character "&" must be escaped as "&amp;" at byte offset 2', id="a_bare_amp"),
        pytest.param("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1', id="a_named_entity"),
        pytest.param("&copy; 2025", 'Unsupported HTML entity "&copy;" at byte offset 0', id="copy_entity"),
        pytest.param(
            '<span class="spoiler">x</span>',
            'Tag "span" must have class "tg-spoiler" at byte offset 0',
            id="a_span_without_tg_spoiler",
        ),
        pytest.param("<a href=https://x.ke>x</a>", "Unexpected end of name token at byte offset 8", id="unquoted_url"),
        pytest.param('<a href="x>x</a>', "Unclosed start tag at byte offset 0", id="an_unterminated_attribute"),
        pytest.param(
            "<b class>x</b>",
            'Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0',
            id="an_attribute_without_value",
        ),
        pytest.param("<b>x</b", "Unclosed end tag at byte offset 4", id="an_unclosed_end_tag"),
    ],
)
async def test_it_rejects_malformed_html_with_telegrams_wording(
    api: FakeBotAPI, bot: Bot, html: str, description: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)^can't parse entities"):
        await bot.send_message(CHAT, html, parse_mode=ParseMode.HTML)

    assert api.requests[-1].description == f"Bad Request: can't parse entities: {description}"


async def test_it_accepts_bare_symbols_when_html_is_lenient_like_telegram() -> None:
    assert parse_html("2 > 1 & a&nbsp;b", strict=False) == ("2 > 1 & a&nbsp;b", [])
    with pytest.raises(ValueError, match="Unsupported start tag"):
        parse_html("1 < 2", strict=False)


async def test_it_does_not_parse_markup_without_a_parse_mode(api: FakeBotAPI, bot: Bot) -> None:
    message = await bot.send_message(CHAT, "<b>not bold</b> & <div>")
    assert message.text == "<b>not bold</b> & <div>"
    assert message.entities == ()


async def test_it_rejects_an_unknown_parse_mode(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(CHAT, "x", parse_mode="Textile")


# ---------------------------------------------------------------- length and emptiness


async def test_exactly_4096_characters_pass_and_4097_fail(bot: Bot) -> None:
    await bot.send_message(CHAT, "a" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "a" * 4097)


async def test_length_counts_utf16_units_so_astral_emoji_count_twice(bot: Bot) -> None:
    assert utf16_len("😀") == 2
    await bot.send_message(CHAT, "😀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "😀" * 2048 + "a")


async def test_length_is_measured_after_tags_and_entities_are_resolved(bot: Bot) -> None:
    await bot.send_message(CHAT, "<b>" + "&lt;" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "<i>" + "&#x1F600;" * 2049 + "</i>", parse_mode=ParseMode.HTML)


@pytest.mark.parametrize("text", ["<b></b>", "   \n ", "<i> </i>"])
async def test_text_that_is_empty_once_parsed_is_rejected(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)


async def test_missing_text_and_chat_id_get_telegrams_answers(api: FakeBotAPI) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{TOKEN}") as client:
        no_text = await client.post("/sendMessage", data={"chat_id": "1"})
        no_chat = await client.post("/sendMessage", data={"text": "hi"})

    assert no_text.status_code == 400
    assert no_text.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"


# ---------------------------------------------------------------- edits


async def test_an_identical_edit_is_not_modified(api: FakeBotAPI, bot: Bot) -> None:
    markup = _keyboard(InlineKeyboardButton("Tena", callback_data="again"))
    sent = await bot.send_message(CHAT, "<b>Hali</b>", parse_mode=ParseMode.HTML, reply_markup=markup)

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Hali</b>", CHAT, sent.message_id, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    assert api.requests[-1].description.startswith("Bad Request: message is not modified: specified new")

    # Dropping the formatting or the keyboard is a modification.
    edited = await bot.edit_message_text("Hali", CHAT, sent.message_id, reply_markup=markup)
    assert edited.text == "Hali" and edited.entities == ()
    await bot.edit_message_text("Hali", CHAT, sent.message_id)
    assert "reply_markup" not in (api.message(CHAT, sent.message_id) or {})
    assert [r.method for r in api.records_for(CHAT)] == ["sendMessage", "editMessageText", "editMessageText"]
    assert api.current_text(CHAT, sent.message_id) == "Hali"


async def test_editing_an_unknown_message_is_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)


async def test_edits_are_as_strict_as_sends(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "x")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.edit_message_text("<p>y</p>", CHAT, sent.message_id, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.edit_message_text("y" * 4097, CHAT, sent.message_id)


async def test_the_bot_cannot_edit_a_users_message(api: FakeBotAPI, bot: Bot) -> None:
    update = api.text_message(CHAT, "mine")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("yours", CHAT, update["message"]["message_id"])


async def test_an_identical_reply_markup_edit_is_not_modified(api: FakeBotAPI, bot: Bot) -> None:
    markup = _keyboard(InlineKeyboardButton("A", callback_data="a"))
    sent = await bot.send_message(CHAT, "x", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=markup)

    await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert api.sent[-1].method == "editMessageReplyMarkup"
    assert api.sent[-1].reply_markup is None


async def test_deleting_a_message_twice_fails_the_second_time(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "x")
    assert await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


# ---------------------------------------------------------------- keyboards


@pytest.mark.parametrize(
    ("button", "description"),
    [
        pytest.param({"text": "x", "callback_data": "x" * 65}, "BUTTON_DATA_INVALID", id="data_over_64_bytes"),
        pytest.param({"text": "x", "callback_data": "ü" * 33}, "BUTTON_DATA_INVALID", id="data_counted_in_bytes"),
        pytest.param({"text": "x", "url": "javascript:alert(1)"}, "BUTTON_URL_INVALID", id="a_javascript_url"),
        pytest.param({"text": "x", "url": "www.ecitizen.go.ke"}, "BUTTON_URL_INVALID", id="a_url_without_scheme"),
        pytest.param(
            {"text": "x"},
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            id="a_button_without_action",
        ),
        pytest.param({"text": "", "callback_data": "x"}, "BUTTON_TEXT_INVALID", id="an_empty_label"),
        pytest.param(
            {"text": "x", "callback_data": "x", "url": "https://x.ke"},
            "can't parse inline keyboard button: exactly one of the optional fields must be used, "
            "found callback_data, url",
            id="two_actions",
        ),
    ],
)
async def test_it_rejects_invalid_inline_buttons(
    api: FakeBotAPI, bot: Bot, button: dict[str, Any], description: str
) -> None:
    markup = {"inline_keyboard": [[button]]}
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "x", reply_markup=markup)  # type: ignore[arg-type]

    assert api.requests[-1].description == f"Bad Request: {description}"


async def test_callback_data_of_exactly_64_bytes_and_tg_urls_pass(bot: Bot) -> None:
    markup = _keyboard(
        InlineKeyboardButton("a", callback_data="ü" * 32),
        InlineKeyboardButton("b", url="tg://resolve?domain=hali_test_bot"),
        InlineKeyboardButton("c", url="https://www.ecitizen.go.ke"),
    )
    await bot.send_message(CHAT, "x", reply_markup=markup)


async def test_more_than_100_buttons_is_too_long(bot: Bot) -> None:
    rows = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(CHAT, "x", reply_markup=InlineKeyboardMarkup(rows))


async def test_reply_markup_must_be_valid_json(api: FakeBotAPI) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{TOKEN}") as client:
        response = await client.post("/sendMessage", data={"chat_id": "1", "text": "x", "reply_markup": "{oops"})
    assert response.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


# ---------------------------------------------------------------- chats and failures


async def test_a_blocked_chat_is_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    api.block(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "x")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, "typing")
    assert api.requests[-1].error_code == 403


async def test_an_unknown_chat_is_not_found(api: FakeBotAPI, bot: Bot) -> None:
    api.unknown_chat(CHAT)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(CHAT, "x")


async def test_an_injected_429_raises_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=5)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "x")

    assert _retry_seconds(caught.value) == 5
    assert api.requests[-1].description == "Too Many Requests: retry after 5"
    assert api.stats.too_many_requests == 1
    await bot.send_message(CHAT, "x")  # only the next call fails


async def test_injected_errors_map_to_ptbs_exceptions(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 403, "Forbidden: bot is not a member of the channel chat")
    api.fail_next("*", 502, times=2)
    with pytest.raises(Forbidden, match="not a member of the channel chat"):
        await bot.send_message(CHAT, "x")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_me()
    await bot.get_me()


async def test_a_global_rate_turns_the_extra_message_into_a_429() -> None:
    async with FakeBotAPI(global_rate=3) as api, _bot(api) as bot:
        for chat in range(1, 4):
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(4, "x")

        assert _retry_seconds(caught.value) == 1
        assert api.stats.too_many_requests == 1
        assert len(api.sent) == 3


async def test_a_per_chat_rate_limits_one_chat_but_not_the_others() -> None:
    async with FakeBotAPI(per_chat_rate=1) as api, _bot(api) as bot:
        await bot.send_message(1, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "y")
        await bot.send_message(2, "x")


async def test_a_wrong_token_is_unauthorized_and_a_malformed_one_not_found(api: FakeBotAPI) -> None:
    wrong = _bot(api, TOKEN.replace("AAH", "BBH"))
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await wrong.initialize()
    await wrong.shutdown()
    assert (api.requests[-1].error_code, api.requests[-1].description) == (401, "Unauthorized")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}123:short/getMe")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_an_unknown_method_is_not_found(api: FakeBotAPI, bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}{TOKEN}/sendTelepathy", data={"chat_id": "1"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_a_json_body_is_accepted_like_form_data(api: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient(base_url=f"{api.base_url}{TOKEN}") as client:
        response = await client.post(
            "/sendMessage",
            json={"chat_id": 7, "text": "<b>x</b>", "parse_mode": "HTML", "reply_markup": markup},
        )
        multipart = await client.post(
            "/sendMessage", data={"chat_id": "7", "text": "y"}, files={"unused": ("a.txt", b"a")}
        )
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 1}]
    assert api.sent[0].reply_markup == markup
    assert multipart.json()["result"]["text"] == "y"


# ---------------------------------------------------------------- callbacks


async def test_a_callback_query_carries_the_bots_message_and_is_answered_once(api: FakeBotAPI, bot: Bot) -> None:
    markup = _keyboard(InlineKeyboardButton("Kiswahili", callback_data="lang:sw"))
    sent = await bot.send_message(CHAT, "Chagua lugha", reply_markup=markup)
    update = Update.de_json(api.callback_query(CHAT, "lang:sw", sent.message_id, language_code="sw"), bot)

    query = update.callback_query
    assert query is not None and query.message is not None
    assert query.message.text == "Chagua lugha"
    assert query.from_user.language_code == "sw"
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query.id, text="x" * 201)
    await bot.answer_callback_query(query.id, text="x" * 200, show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)

    record = api.sent[-1]
    assert (record.method, record.chat_id, record.show_alert) == ("answerCallbackQuery", CHAT, True)


# ---------------------------------------------------------------- updates and polling


async def test_get_updates_returns_pushed_updates_and_honours_offset(api: FakeBotAPI, bot: Bot) -> None:
    first = api.text_message(CHAT, "habari", language_code="sw")
    second = api.command(CHAT, "start", "ref42")
    api.sticker(CHAT)

    updates = await bot.get_updates(limit=2)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[1].message is not None and updates[1].message.text == "/start ref42"
    assert updates[1].message.entities[0].type == "bot_command"

    rest = await bot.get_updates(offset=second["update_id"] + 1)
    assert len(rest) == 1 and rest[0].message is not None and rest[0].message.sticker is not None
    assert await bot.get_updates(offset=rest[0].update_id + 1) == ()
    assert api.pending_updates == 0


async def test_a_long_poll_wakes_as_soon_as_an_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, api.text_message, CHAT, "late")
    started = time.monotonic()

    updates = await bot.get_updates(timeout=5)

    assert len(updates) == 1
    assert time.monotonic() - started < 2


async def test_a_long_poll_ends_when_the_server_stops() -> None:
    api = FakeBotAPI()
    await api.start()
    async with _bot(api) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await api.stop()
        assert await poll == ()
        assert time.monotonic() - started < 2


async def test_a_second_poller_terminates_the_first_with_a_conflict(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with _bot(api) as second:
        await second.get_updates(timeout=0)
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_allowed_updates_filters_what_is_delivered(api: FakeBotAPI, bot: Bot) -> None:
    api.text_message(CHAT, "ignored")
    sent = await bot.send_message(CHAT, "menu")
    api.callback_query(CHAT, "go", sent.message_id)

    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["go"]
    assert len(updates) == 1


async def test_builders_produce_updates_ptb_understands(api: FakeBotAPI, bot: Bot) -> None:
    api.photo(CHAT, caption="pic")
    api.voice(CHAT, duration=4)
    api.edited_message(CHAT, 1, "pic, edited")
    group = api.group_message(-1001234567890, "nisaidie", mention_bot=True, language_code="sw")

    updates = await bot.get_updates()
    photo, voice, edited, mention = (u.effective_message for u in updates)
    assert photo is not None and len(photo.photo) == 3 and photo.caption == "pic"
    assert voice is not None and voice.voice is not None and voice.voice.duration in (4, dtm.timedelta(seconds=4))
    assert edited is not None and edited.edit_date is not None
    assert mention is not None and mention.chat.type == "supergroup"
    assert mention.parse_entities(["mention"]) == {mention.entities[0]: "@hali_test_bot"}
    assert group["message"]["text"] == "@hali_test_bot nisaidie"


async def test_an_application_polling_the_fake_answers_a_command(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Karibu</b> Hali!")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .request(_request())
        .get_updates_request(_request())
        .build()
    )
    application.add_handler(CommandHandler("start", start))

    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        api.command(CHAT, "start", language_code="sw")

        [reply] = await api.wait_for(lambda r: r.method == "sendMessage", timeout=5)

        await application.updater.stop()
        await application.stop()

    assert reply.chat_id == CHAT
    assert reply.plain_text == "Karibu Hali!"
    assert reply.parse_mode == "HTML"
    assert api.pending_updates == 0


async def test_wait_for_times_out_with_what_was_sent(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(CHAT, "only this")
    assert len(await api.wait_for(1)) == 1
    with pytest.raises(TimeoutError, match="only this"):
        await api.wait_for(lambda r: r.text == "never", timeout=0.05)


async def test_bot_commands_and_descriptions_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Anza"), ("help", "Msaada")], language_code="sw")
    assert [c.command for c in await bot.get_my_commands(language_code="sw")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start-Now", "x")])
    await bot.set_my_description("Hali ya huduma za serikali")
    assert (await bot.get_my_description()).description == "Hali ya huduma za serikali"
    await bot.delete_my_commands(language_code="sw")
    assert await bot.get_my_commands(language_code="sw") == ()


def test_it_runs_in_a_thread_for_benchmarks() -> None:
    handle = FakeBotAPI().run_in_thread()
    try:
        handle.api.text_message(CHAT, "habari")
        with httpx.Client(base_url=f"{handle.base_url}{TOKEN}") as client:
            updates = client.post("/getUpdates", data={"timeout": "1"}).json()["result"]
            sent = client.post("/sendMessage", data={"chat_id": str(CHAT), "text": "jibu"}).json()
            pushed = client.post(f"{handle.url}/_fake/text_message", json={"chat_id": 5, "text": "hi"}).json()
            stats = client.get(f"{handle.url}/_fake/stats").json()["result"]
        assert updates[0]["message"]["text"] == "habari"
        assert sent["result"]["text"] == "jibu"
        assert pushed["result"]["message"]["text"] == "hi"
        assert stats["by_method"] == {"getUpdates": 1, "sendMessage": 1}
        assert [r.text for r in handle.wait_for(1)] == ["jibu"]
    finally:
        handle.stop()


# ------------------------------------------------------------------ webhooks


class _Receiver:
    """A webhook endpoint that fails the first `failures` posts (by status, or by not answering in time)."""

    def __init__(self, failures: int, *, status: int = 500, hang: float = 0.0) -> None:
        self.failures = failures
        self.status = status
        self.hang = hang
        self.seen: list[tuple[int, str | None]] = []
        self.runner: Any = None
        self.url = ""

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        body = await request.json()
        self.seen.append((body["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if self.failures > 0:
            self.failures -= 1
            if self.hang:
                await asyncio.sleep(self.hang)
            return web.Response(status=self.status)
        return web.json_response({})

    async def __aenter__(self) -> _Receiver:
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def _delivered(api: FakeBotAPI) -> None:
    """Wait (5 s at most) until the webhook has taken every pushed update."""
    for _ in range(500):
        if api.pending_updates == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{api.pending_updates} updates still undelivered: {api.webhook_deliveries}")


@pytest.mark.parametrize(("status", "hang"), [(500, 0.0), (429, 0.0), (200, 1.0)])
async def test_the_webhook_gets_an_update_again_until_it_answers_2xx(status: int, hang: float) -> None:
    async with FakeBotAPI(webhook_retry_delay=0.01, webhook_timeout=0.3) as api, _Receiver(2, status=status,
                                                                                           hang=hang) as hook:
        bot = _bot(api)
        async with bot:
            assert await bot.set_webhook(hook.url, secret_token="s3cret", max_connections=1)
            update = api.text_message(7, "hello")
            await _delivered(api)
        ids = [update_id for update_id, _ in hook.seen]
        assert ids == [update["update_id"]] * 3
        assert {secret for _, secret in hook.seen} == {"s3cret"}
        assert [d.status for d in api.webhook_deliveries] == ([None, None, 200] if hang else [status, status, 200])
        info = api._get_webhook_info({})
        assert info["last_error_message"] and info["pending_update_count"] == 0


async def test_getupdates_answers_409_while_a_webhook_is_set_and_works_again_after_deletewebhook() -> None:
    async with FakeBotAPI() as api, _Receiver(0) as hook:
        bot = _bot(api)
        async with bot:
            await bot.set_webhook(hook.url)
            assert (await bot.get_webhook_info()).url == hook.url
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates(timeout=0)
            assert await bot.delete_webhook()
            assert (await bot.get_webhook_info()).url == ""
            api.text_message(8, "hi")
            assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["hi"]


async def test_setwebhook_refuses_a_secret_telegram_would_refuse() -> None:
    async with FakeBotAPI() as api:
        bot = _bot(api)
        async with bot:
            with pytest.raises(BadRequest, match="secret token"):
                await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces")
