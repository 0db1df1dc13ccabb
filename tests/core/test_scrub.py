"""Scrubbing personal identifiers out of citizens' free text."""

from __future__ import annotations

import pytest

from bot.core.scrub import scrub


@pytest.mark.parametrize(
    "number",
    [
        "0712345678",
        "0712 345 678",
        "0712-345-678",
        "0712.345.678",
        "07 12 34 56 78",
        "0112345678",
        "0110 123 456",
        "+254712345678",
        "+254 712 345 678",
        "+254-712-345-678",
        "254712345678",
        "254 712 345678",
        "254 112 345 678",
        "712 345 678",
        "020 4999 999",
    ],
)
def test_it_replaces_kenyan_phone_numbers_in_every_common_format(number: str) -> None:
    assert scrub(f"nipigie {number} leo") == "nipigie [phone] leo"


def test_it_replaces_a_phone_number_next_to_punctuation() -> None:
    assert scrub("call me (0712345678), or +254722000111.") == "call me ([phone]), or [phone]."


def test_two_numbers_side_by_side_are_two_numbers() -> None:
    assert scrub("12345678 0712345678") == "[id] [phone]"
    assert scrub("0712345678 0723456789") == "[phone] [phone]"


@pytest.mark.parametrize("text", ["ID 12345678", "kitambulisho 1234567", "id no. 23456789 imekataa"])
def test_it_replaces_national_id_numbers(text: str) -> None:
    assert "[id]" in scrub(text)
    assert not any(ch.isdigit() for ch in scrub(text))


@pytest.mark.parametrize(
    "text",
    [
        "nimelipa KES 12500000 jana",
        "paid Ksh 1500000",
        "sent 2500000/= to 222222",
        "tarehe 12-03-2025 saa 10",
        "on 12.03.2025",
        "date 20250312",
        "paybill 222222 account 123456",
        "PRN 2020202012345678",
        "passport AK1234567",
        "1 500 000 bob",
        "saa 14:30",
    ],
)
def test_it_keeps_amounts_dates_paybills_and_references(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize("email", ["amina.wanjiku@gmail.com", "j_o+hali@mail.co.ke", "x@y.go.ke"])
def test_it_replaces_email_addresses(email: str) -> None:
    assert scrub(f"email yangu ni {email}.") == "email yangu ni [email]."


@pytest.mark.parametrize("code", ["QFT4XY12AB", "SAB1CD2EFG", "RKL7H8J9K0", "qft4xy12ab"])
def test_it_replaces_mpesa_transaction_codes(code: str) -> None:
    assert scrub(f"M-Pesa code {code} imekatwa") == "M-Pesa code [mpesa-code] imekatwa"


@pytest.mark.parametrize("word", ["MAINTENANCE", "ORGANISATION", "Unavailable", "ecitizen12", "HELLOWORLD"])
def test_ordinary_words_are_not_mpesa_codes(word: str) -> None:
    assert scrub(word) == word


@pytest.mark.parametrize("pin", ["A123456789B", "P051234567Z", "a123456789b"])
def test_it_replaces_kra_pins(pin: str) -> None:
    assert scrub(f"PIN {pin} haifanyi") == "PIN [kra-pin] haifanyi"


def test_everything_at_once_leaves_no_identifier() -> None:
    text = ("Nimelipa 1500 bob, code QFT4XY12AB, from 0712 345 678; ID 12345678, "
            "PIN A123456789B, mail me at amina@gmail.com")
    assert scrub(text) == ("Nimelipa 1500 bob, code [mpesa-code], from [phone]; ID [id], "
                           "PIN [kra-pin], mail me at [email]")


def test_text_without_identifiers_is_unchanged() -> None:
    text = "Sipati OTP ya ecitizen tangu saa tatu, page iko blank tu 😞"
    assert scrub(text) == text


def test_scrubbing_twice_changes_nothing_more() -> None:
    once = scrub("0712345678 QFT4XY12AB a@b.co 12345678")
    assert scrub(once) == once


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("red \x1b[31mALERT\x1b[0m text", "red ALERT text"),
        ("\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\ please", "click me please"),
        ("\x1b]0;owned\x07title", "title"),
        ("bell\x07 \x1b[2J\x1b[Hcleared", "bell cleared"),
        ("nul\x00 del\x7f c1\x9b31m done", "nul del c1 done"),
        ("\u202egnp.exe nothing reversed", "gnp.exe nothing reversed"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("tab\there", "tab here"),
    ],
)
def test_control_characters_and_escape_sequences_are_removed(text: str, clean: str) -> None:
    assert scrub(text) == clean


def test_letters_of_every_language_emoji_and_line_breaks_are_kept() -> None:
    text = "Imekataa kabisa 😡👨‍👩‍👧\nሰላም مرحبا 你好 नमस्ते Ελλάδα\nline"
    assert scrub(text) == text
    assert scrub("one\r\ntwo\rthree\u2028four") == "one\ntwo\nthree\nfour"


def test_an_unended_escape_string_takes_only_its_introducer() -> None:
    assert scrub("\x1b]8;;the rest of my report") == "8;;the rest of my report"
