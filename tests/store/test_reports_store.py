"""Reports in the store, on SQLite and PostgreSQL: counting, flagging, follow-ups, retention, erasure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.catalog.loader import load_catalog
from bot.core.clock import FrozenClock
from bot.core.reports import ReportDraft, ReportPolicy
from bot.core.understanding import Symptom
from bot.store.models import ReportRow, SecretRow
from bot.store.repo import Store
from bot.store.reports import CrowdSignals, ReportStore


def draft(chat_id: int, service: str = "ecitizen", text: str | None = None, *, follow_up: bool = False,
          symptom: Symptom = Symptom.PAYMENT) -> ReportDraft:
    return ReportDraft(service, symptom, text, chat_id, "en", follow_up)


async def rows(store: Store) -> list[ReportRow]:
    async with store.sessions() as session:
        return list((await session.scalars(select(ReportRow).order_by(ReportRow.id))).all())


async def test_a_report_is_stored_scrubbed_with_a_pseudonymous_key(store: Store) -> None:
    reports = ReportStore(store, secret="s" * 32)
    result = await reports.submit(draft(42, text="call 0712345678, code QFT4XY12AB"))
    assert result.accepted and result.counted and result.reference and result.reference.startswith("R-")
    [row] = await rows(store)
    assert row.text == "call [phone], code [mpesa-code]"
    assert row.reporter_key is not None and "42" not in row.reporter_key and row.chat_id is None
    assert row.reporter_key == await ReportStore(store, secret="s" * 32).key_for(42)
    assert row.reporter_key != await ReportStore(store, secret="t" * 32).key_for(42)


async def test_without_a_configured_secret_one_is_generated_once_and_kept(store: Store) -> None:
    first = await ReportStore(store).key_for(7)
    again = await ReportStore(store).key_for(7)  # as after a restart
    assert first == again
    async with store.sessions() as session:
        assert len((await session.scalars(select(SecretRow))).all()) == 1


async def test_the_same_long_text_from_three_citizens_within_seconds_is_flagged(
    store: Store, clock: FrozenClock
) -> None:
    reports = ReportStore(store, secret="s" * 32)
    text = "eCitizen is down, share this everywhere now!!"
    results = []
    for chat in (1, 2, 3):
        results.append(await reports.submit(draft(chat, text=text)))
        clock.advance(seconds=10)
    assert [r.flagged for r in results] == [False, False, True]
    assert [(r.counted, r.flagged) for r in await rows(store)] == [(False, True)] * 3
    short = [await reports.submit(draft(chat, text="not working")) for chat in (4, 5, 6)]
    assert not any(r.flagged for r in short), "short common phrases are typed independently in an outage"
    summary = (await reports.summary(clock() - timedelta(hours=1), service_id="ecitizen"))[0]
    assert summary.flagged == 3 and summary.flagged_texts == (text,)


async def test_follow_ups_are_claimed_once_per_chat_and_the_chat_ids_dropped(store: Store, clock: FrozenClock) -> None:
    reports = ReportStore(store, secret="s" * 32)
    old = await reports.submit(draft(1, follow_up=True))
    clock.advance(hours=25)
    a1 = await reports.submit(draft(1, follow_up=True))
    a2 = await reports.submit(draft(1, follow_up=True, symptom=Symptom.SLOW))
    await reports.submit(draft(2, follow_up=False))
    await reports.submit(draft(3, "kra", follow_up=True))
    clock.advance(minutes=30)
    claimed = await reports.claim_follow_ups("ecitizen", clock())
    assert [(f.chat_id, f.references) for f in claimed] == [(1, (a1.reference, a2.reference))]
    assert old.reference not in claimed[0].references
    assert await reports.claim_follow_ups("ecitizen", clock()) == []
    still = {r.service_id: r.chat_id for r in await rows(store) if r.chat_id is not None}
    assert still == {"ecitizen": 1, "kra": 3}, "only the old ecitizen report and the kra one keep a chat id"


async def test_retention_anonymises_old_reports_and_drops_stale_chat_ids(store: Store, clock: FrozenClock) -> None:
    reports = ReportStore(store, secret="s" * 32, policy=ReportPolicy(retention=timedelta(days=90)))
    await reports.submit(draft(1, text="old words here", follow_up=True))
    clock.advance(days=89)
    await reports.submit(draft(2, text="recent words", follow_up=True))
    clock.advance(days=2)
    await reports.submit(draft(3, text="new words", follow_up=True))
    result = await reports.purge()
    assert result.anonymised == 1 and result.follow_ups_dropped == 1
    old, recent, new = await rows(store)
    assert (old.reporter_key, old.chat_id, old.text, old.text_hash) == (None, None, None, None)
    assert (old.service_id, old.symptom, old.counted) == ("ecitizen", "payment", True)
    assert recent.text == "recent words" and recent.reporter_key and recent.chat_id is None
    assert new.chat_id == 3
    assert (await reports.purge()).anonymised == 0


async def test_forget_erases_the_chats_reports_in_the_same_transaction(store: Store) -> None:
    reports = store.reports  # a part of every store: /forget erases it on every path
    await store.touch_user(1)
    await reports.submit(draft(1, text="mine"))
    await reports.submit(draft(2, text="theirs"))
    assert await reports.count_for_chat(1) == 1
    await store.forget_user(1)
    assert [r.text for r in await rows(store)] == ["theirs"]


async def test_the_crowd_signal_fires_on_many_reporters_and_clears_later(store: Store, clock: FrozenClock) -> None:
    reports = ReportStore(store, secret="s" * 32)
    crowd = CrowdSignals(reports)
    catalog = load_catalog()
    for chat in range(5):
        await reports.submit(draft(100 + chat, symptom=Symptom.LOGIN_OTP))
        clock.advance(minutes=1)
    assert await crowd.current(catalog) == {}, "five reporters are not enough"
    await reports.submit(draft(200, symptom=Symptom.LOGIN_OTP))
    await reports.submit(draft(201, symptom=Symptom.PAYMENT))
    signal = (await crowd.current(catalog))["ecitizen"]
    assert signal.reports == 7 and signal.window_minutes == 30 and signal.symptom is Symptom.LOGIN_OTP
    assert signal.since == clock().replace(second=0, microsecond=0)
    clock.advance(minutes=31)
    assert await crowd.current(catalog) == {}
