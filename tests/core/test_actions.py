"""Buttons as data: every action survives the trip through its string, and nothing else decodes."""

from __future__ import annotations

import pytest

from bot.core.actions import (
    ChooseLanguage,
    Follow,
    Forget,
    OperatorStep,
    Refresh,
    RemoveAlert,
    ReportOp,
    ReportStart,
    ReportStep,
    ServicesList,
    ShowCard,
    TooLong,
    Unfollow,
    decode,
    encode,
    matches,
)

EVERY_KIND = [
    Refresh("ecitizen"), ShowCard("kra"), ServicesList(), Follow("ntsa"), Follow("*"), Unfollow("sha"),
    RemoveAlert("helb"), ChooseLanguage("sw"), Forget(True), Forget(False), ReportStart("mpesa"),
    ReportStep("a1b2c3", ReportOp.CANCEL), ReportStep("a1b2c3", ReportOp.SERVICE, "kra"),
    ReportStep("a1b2c3", ReportOp.SYMPTOM, "payment"), ReportStep("a1b2c3", ReportOp.SKIP),
    ReportStep("a1b2c3", ReportOp.FOLLOW_UP, "1"), OperatorStep("tok", 3, "major_outage"),
    OperatorStep("tok", 0, "cancel"),
]


@pytest.mark.parametrize("action", EVERY_KIND, ids=repr)
def test_every_action_comes_back_from_its_data(action: object) -> None:
    data = encode(action)  # type: ignore[arg-type]
    assert len(data.encode()) <= 64
    assert decode(data) == action


def test_buttons_already_in_chats_keep_their_meaning() -> None:
    assert decode("r:ecitizen") == Refresh("ecitizen")
    assert decode("rp:kra") == ReportStart("kra")
    assert decode("rf:9f3a:y:payment") == ReportStep("9f3a", ReportOp.SYMPTOM, "payment")
    assert decode("op:Zx:2:yes") == OperatorStep("Zx", 2, "yes")
    assert decode("n:*") == Follow("*")
    assert decode("f:yes") == Forget(True)
    assert decode("sv") == ServicesList()


@pytest.mark.parametrize("data", [
    None, "", "r", "r:", "zz:ecitizen", "f:maybe", "rf::x", "rf:abc:q", "op:tok:two:yes", "op:tok:1",
    "sv:", "sv:extra", "r:a:b", "r:" + "x" * 70, "l:",
])
def test_stale_or_forged_data_decodes_to_nothing(data: str | None) -> None:
    assert decode(data) is None


def test_an_action_too_long_for_a_button_is_refused() -> None:
    with pytest.raises(TooLong):
        encode(Refresh("x" * 63))


def test_routing_predicates_match_only_their_kinds() -> None:
    reports = matches(ReportStart, ReportStep)
    assert reports("rp:kra") and reports("rf:abc:x")
    assert not reports("r:kra") and not reports(None) and not reports("garbage")
