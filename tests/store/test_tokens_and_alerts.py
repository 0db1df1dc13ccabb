"""Tokens and the agency's monitoring signals in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.alerts import Alert
from bot.core.clock import FrozenClock
from bot.core.status import Source, State
from bot.services.sources import make_board
from bot.store.alerts import AlertStore
from bot.store.models import ApiTokenRow
from bot.store.repo import Conflict, NotFound, Store
from bot.store.tokens import PREFIX, TokenStore, digest


async def test_a_token_is_kept_only_as_its_digest_and_found_by_its_value(store: Store) -> None:
    tokens = TokenStore(store)
    value = await tokens.create("ntsa-monitoring", ["ntsa"], hooks=True, incidents=False, actor="cli")
    assert value.startswith(PREFIX) and len(value) > 40
    async with store.sessions() as session:
        row = (await session.scalars(select(ApiTokenRow))).one()
    assert row.digest == digest(value) and value not in repr(row.__dict__)
    token = await tokens.check(value)
    assert token is not None and token.name == "ntsa-monitoring" and token.services == ("ntsa",)
    assert token.covers("ntsa") and not token.covers("kra") and token.hooks and not token.incidents
    assert await tokens.check(value + "x") is None


async def test_a_token_for_all_services_covers_every_service(store: Store) -> None:
    tokens = TokenStore(store)
    token = await tokens.check(await tokens.create("ops", None, hooks=True, incidents=True, actor="cli"))
    assert token is not None and token.services is None and token.covers("kra") and token.covers("later")


async def test_a_revoked_token_is_found_as_revoked_and_its_name_can_be_given_again(store: Store) -> None:
    tokens = TokenStore(store)
    old = await tokens.create("kra", ["kra"], hooks=True, incidents=False, actor="cli")
    with pytest.raises(Conflict, match="exists"):
        await tokens.create("kra", ["kra"], hooks=True, incidents=False, actor="cli")
    await tokens.revoke("kra", actor="cli")
    revoked = await tokens.check(old)
    assert revoked is not None and not revoked.active
    with pytest.raises(Conflict, match="already revoked"):
        await tokens.revoke("kra", actor="cli")
    new = await tokens.create("kra", ["kra", "ecitizen"], hooks=False, incidents=True, actor="cli")
    assert await tokens.check(old) is None
    renewed = await tokens.check(new)
    assert renewed is not None and renewed.active and renewed.services == ("ecitizen", "kra")
    rows = reversed(await store.audit_log())
    actions = [(r.action, r.target, r.actor) for r in rows if r.action.startswith("token.")]
    assert actions == [("token.create", "token:kra", "cli"), ("token.revoke", "token:kra", "cli"),
                       ("token.create", "token:kra", "cli")]
    assert all(old not in str(r.after) and new not in str(r.after) for r in await store.audit_log())


async def test_a_token_needs_known_services_a_permission_and_a_plain_name(store: Store) -> None:
    tokens = TokenStore(store)
    with pytest.raises(NotFound, match="'nosuch'"):
        await tokens.create("x", ["ntsa", "nosuch"], hooks=True, incidents=False, actor="cli")
    with pytest.raises(Conflict, match="--hooks, --incidents"):
        await tokens.create("x", ["ntsa"], hooks=False, incidents=False, actor="cli")
    with pytest.raises(Conflict, match="token name"):
        await tokens.create("Bad Name!", ["ntsa"], hooks=True, incidents=False, actor="cli")
    with pytest.raises(NotFound):
        await tokens.revoke("x", actor="cli")
    assert await tokens.tokens() == []


def _alert(state: State = State.MAJOR_OUTAGE, *, firing: bool = True, key: str = "alertmanager:f1") -> Alert:
    return Alert(key=key, references=("ntsa",), firing=firing, state=state, name="NTSAPortalDown")


async def test_a_firing_alert_is_a_monitoring_signal_on_the_board_until_it_resolves(
    store: Store, clock: FrozenClock
) -> None:
    alerts = AlertStore(store)
    board = make_board(store, max_age=0)
    applied = await alerts.apply([(_alert(), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    assert applied.started == ["ntsa alertmanager:f1"] and applied.changes
    status = (await board.snapshot()).status("ntsa")
    assert (status.state, status.source, status.since) == (State.MAJOR_OUTAGE, Source.MONITORING, clock.now)
    clock.advance(minutes=5)
    applied = await alerts.apply([(_alert(firing=False), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    assert applied.resolved == ["ntsa alertmanager:f1"]
    status = (await board.snapshot()).status("ntsa")
    assert status.source is None and status.state is State.OPERATIONAL
    assert await alerts.active() == []


async def test_a_re_sent_firing_alert_changes_nothing_but_its_last_seen_time(store: Store, clock: FrozenClock) -> None:
    alerts = AlertStore(store)
    await alerts.apply([(_alert(), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    started = clock.now
    clock.advance(minutes=4)
    again = await alerts.apply([(_alert(), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    assert again.kept == ["ntsa alertmanager:f1"] and not again.changes
    [active] = await alerts.active()
    assert active.since == started and active.seen_at == clock.now and active.token == "ntsa"
    clock.advance(minutes=4)
    changed = await alerts.apply([(_alert(State.DEGRADED), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    assert changed.changed == ["ntsa alertmanager:f1"]
    [active] = await alerts.active()
    assert active.state is State.DEGRADED and active.since == clock.now


async def test_resolving_an_alert_never_seen_changes_nothing(store: Store) -> None:
    applied = await AlertStore(store).apply([(_alert(firing=False), "ntsa")], actor="token:ntsa",
                                            action="hook.alertmanager")
    assert not applied.changes and await AlertStore(store).active() == []


async def test_an_alerts_start_in_the_past_is_its_since_but_never_the_future(store: Store, clock: FrozenClock) -> None:
    alerts = AlertStore(store)
    past = Alert("grafana:a", ("kra",), True, State.DEGRADED, starts_at=clock.now - timedelta(minutes=30))
    future = Alert("grafana:b", ("kra",), True, State.DEGRADED, starts_at=clock.now + timedelta(hours=1))
    await alerts.apply([(past, "kra"), (future, "kra")], actor="token:kra", action="hook.grafana")
    assert sorted(a.since for a in await alerts.active()) == [clock.now - timedelta(minutes=30), clock.now]


async def test_each_delivery_is_one_audit_row_naming_the_token(store: Store) -> None:
    alerts = AlertStore(store)
    await alerts.apply([(_alert(), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    await alerts.apply([(_alert(), "ntsa")], actor="token:ntsa", action="hook.alertmanager")
    await alerts.apply([], actor="token:ntsa", action="hook.uptime-kuma")
    rows = [r for r in reversed(await store.audit_log()) if r.action.startswith("hook.")]
    assert [(r.actor, r.action, r.target) for r in rows] == [
        ("token:ntsa", "hook.alertmanager", "ntsa"), ("token:ntsa", "hook.alertmanager", "ntsa"),
        ("token:ntsa", "hook.uptime-kuma", "-")]
    assert rows[0].after is not None and rows[0].after["started"] == ["ntsa alertmanager:f1"]
    assert rows[1].after is not None and rows[1].after["kept"] == ["ntsa alertmanager:f1"]
