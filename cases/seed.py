"""A realistic month of tickets over a district, made through the services with a simulated clock, so the
history, deadlines and escalations are the real ones (for demos and for trying the admin commands).

Residents report in plain words naming places of the rules file; every report is routed by the real router.
Each ticket follows a fate (confirmed and rated, closed by silence, reopened, left unclaimed, cancelled,
merged, paused, transferred, still in hand); actions scheduled after ``end`` do not happen, so the last days
leave tickets in every open state. The deadline sweep runs every few simulated hours between the actions.
Each action is its own transaction, as in the bot. The same ``seed`` gives the same month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from cases.clock import as_utc
from cases.db import session_scope
from cases.models import Person
from cases.notify import RecordingNotifier
from cases.routing.router import Report, route
from cases.rules.schema import Rules
from cases.services import people
from cases.services import tickets as svc
from cases.services.errors import ServiceError
from cases.services.pausing import pause, resume
from cases.states import TransitionError
from cases.sweep import run_sweep

PHRASES: dict[str, list[str]] = {
    "water": ["水管爆了，楼道里都是水", "自来水管一直在漏水", "家里停水两天了"],
    "drainage": ["下水道堵了，污水冒出来", "楼下窨井盖周围积水很深"],
    "gas": ["楼道里有很重的燃气味", "闻到煤气味，可能漏气了"],
    "power": ["整栋楼停电了", "电表箱冒火花"],
    "streetlight": ["路灯坏了，晚上一片漆黑", "楼道灯不亮好几天了"],
    "garbage": ["垃圾三天没人收了", "垃圾桶满了，味道很大"],
    "road": ["路面有个大坑", "人行道的地砖翘起来了"],
    "noise": ["晚上十二点还有装修噪音", "广场舞音响太吵了"],
    "elderly": ["独居老人好几天没出门了", "楼上的老人生病了没人照顾"],
    "safety": ["消防通道被杂物堵住了", "单元门的门禁坏了，陌生人随便进"],
    "vendor": ["小区门口有人占道摆摊", "流动摊贩把人行道占满了"],
    "greenery": ["大树枝快断了，挂在路上", "绿化带被人毁了种菜"],
    "parking": ["电动车堵在楼道里充电", "车辆乱停挡住了出口"],
}
"""What residents write, by the category the router should find (Chinese, as residents write)."""

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
FATES = (("confirmed", 34), ("silent", 14), ("reopened", 8), ("in_hand", 12), ("unclaimed", 8), ("withdrawn", 5),
         ("invalid", 3), ("duplicate", 5), ("paused", 5), ("transferred", 3), ("verified", 3))
SWEEP_EVERY = timedelta(hours=4)


@dataclass
class SeedReport:
    """What was made: people, tickets by status, and actions that did not apply (e.g. after the sweep)."""

    people: int = 0
    tickets: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    sweeps: int = 0


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    key: int = field(compare=False)
    action: str = field(compare=False)
    arg: object = field(default=None, compare=False)


def seed_month(engine: Engine, rules: Rules, *, end: datetime, days: int = 30, per_day: int = 8,
               seed: int = 7) -> SeedReport:
    """Fill the database behind ``engine`` (migrated, empty of tickets) with ``days`` of tickets up to ``end``."""
    rng = random.Random(seed)
    end = as_utc(end)
    start = end - timedelta(days=days)
    report = SeedReport()
    staff = _staff(engine, rules, start, report)
    residents = _residents(engine, rng, start, report)
    places = [(g, p) for g in rules.grids for p in rules.areas[g].places[:3]]
    steps: list[_Step] = []
    for day in range(days):
        for _ in range(rng.randint(per_day // 2, per_day + per_day // 2)):
            at = start + timedelta(days=day, hours=rng.uniform(0, 12))  # 08:00–20:00 in Shanghai
            steps += _plan(rng, len(steps), at)
    steps = [s for s in steps if s.at <= end]
    steps.sort()
    tickets: dict[int, int] = {}
    next_sweep = start + SWEEP_EVERY
    for step in steps:
        while next_sweep <= step.at:
            _sweep(engine, rules, next_sweep, report)
            next_sweep += SWEEP_EVERY
        try:
            with session_scope(engine) as session:
                _act(session, rules, rng, step, tickets, staff, residents, places)
        except (ServiceError, TransitionError, KeyError):
            report.skipped += 1  # e.g. the sweep closed it first, or its original is gone
    _sweep(engine, rules, end, report)
    with session_scope(engine) as session:
        for ticket_id in tickets.values():
            status = svc.get(session, ticket_id).status
            report.by_status[status] = report.by_status.get(status, 0) + 1
    report.tickets = len(tickets)
    return report


def _plan(rng: random.Random, order: int, at: datetime) -> list[_Step]:
    """The steps of one ticket's life, from its report on."""
    fate = rng.choices([f for f, _ in FATES], weights=[w for _, w in FATES])[0]
    key = order
    steps = [_Step(at, order, key, "report")]
    t = at

    def then(minutes: tuple[float, float], action: str, arg: object = None) -> None:
        nonlocal t
        t = t + timedelta(minutes=rng.uniform(*minutes))
        steps.append(_Step(t, order + len(steps), key, action, arg))

    if fate == "unclaimed":
        return steps
    if fate == "withdrawn":
        then((5, 60), "withdraw")
        return steps
    if fate == "invalid":
        then((30, 240), "invalid")
        return steps
    if fate == "duplicate":
        then((5, 120), "merge")
        return steps
    if fate == "transferred":
        then((20, 120), "transfer")
    then((10, 180), "claim")
    then((30, 240), "note", rng.choice(["已到现场查看", "已联系物业", "材料已订，明天处理"]))
    if fate == "paused":
        then((10, 60), "pause")
        then((120, 1440), "resume")
    if fate == "in_hand":
        return steps
    then((60, 1800), "resolve", rng.choice(["已处理完毕", "已更换损坏部件", "已清理干净", ""]))
    if fate == "reopened":
        then((60, 600), "reopen")
        then((10, 120), "claim")
        then((60, 600), "resolve", "已返工处理")
    if fate in ("confirmed", "reopened"):
        then((30, 600), "confirm")
        then((1, 30), "rate", rng.choice([5, 5, 5, 4, 4, 3]))
    elif fate == "verified":
        then((60, 600), "verify")
    return steps  # "silent": the sweep closes it when nobody objects


def _act(session: object, rules: Rules, rng: random.Random, step: _Step, tickets: dict[int, int],
         staff: dict[str, int], residents: list[int], places: list[tuple[str, str]]) -> None:
    from sqlmodel import Session

    assert isinstance(session, Session)
    now = step.at
    if step.action == "report":
        _, place = rng.choice(places)
        category = rng.choice([c for c in PHRASES if c in rules.categories])
        # one report in twenty names no place: it waits as a draft, then goes to the district's queue
        text = f"{'' if rng.random() < 0.05 else place}{rng.choice(PHRASES[category])}"
        reporter = _person(session, rng.choice(residents))
        decision = route(Report(text=text), rules)
        ticket, _ = svc.open_ticket(
            session, rules=rules, reporter=reporter, chat_id=reporter.telegram_id, message_id=step.order + 1,
            text=text, category=decision.category, priority=decision.priority, area=decision.area,
            target=decision.target, route_index=decision.route_index, explanation=decision.to_dict(), now=now)
        assert ticket.id is not None
        tickets[step.key] = ticket.id
        return
    ticket = svc.get(session, tickets[step.key])
    assert ticket.id is not None
    reporter = _person(session, ticket.reporter_id, by_id=True)
    holder = _person(session, staff[ticket.target]) if ticket.target in staff else None
    leader = _person(session, staff["leader:" + (rules.ancestor_of_kind(ticket.area or rules.root, "community")
                                                  or rules.root)] if ticket.area else staff["supervisor"])
    worker = holder or leader
    tid = ticket.id
    if step.action == "claim":
        svc.claim(session, worker=worker, ticket_id=tid, rules=rules, now=now)
    elif step.action == "note":
        svc.add_note(session, actor=worker, text=str(step.arg), ticket_id=tid, rules=rules, now=now)
    elif step.action == "pause":
        pause(session, actor=worker, reason="等待居民提供门牌号", ticket_id=tid, rules=rules, now=now)
    elif step.action == "resume":
        resume(session, actor=worker, ticket_id=tid, rules=rules, now=now)
    elif step.action == "resolve":
        svc.resolve(session, actor=worker, note=str(step.arg) or None, ticket_id=tid, rules=rules, now=now)
    elif step.action == "reopen":
        svc.reopen(session, actor=reporter, ticket_id=tid, rules=rules, now=now)
    elif step.action == "confirm":
        svc.confirm(session, actor=reporter, ticket_id=tid, rules=rules, now=now)
    elif step.action == "rate":
        svc.rate(session, actor=reporter, stars=int(str(step.arg)), ticket_id=tid, rules=rules, now=now)
    elif step.action == "verify":
        svc.verify(session, actor=leader, note="现场核实已解决", ticket_id=tid, rules=rules, now=now)
    elif step.action == "withdraw":
        svc.cancel(session, actor=reporter, reason="问题自己解决了", ticket_id=tid, rules=rules, now=now)
    elif step.action == "invalid":
        svc.cancel(session, actor=leader, reason="不属于网格受理范围", ticket_id=tid, rules=rules, now=now)
    elif step.action == "merge":
        earlier = max((t for k, t in tickets.items() if k < step.key and t != ticket.id), default=None)
        if earlier is None:
            raise KeyError("no earlier ticket")
        svc.merge(session, into_id=earlier, actor=_person(session, staff["supervisor"]), reason="同一问题",
                  ticket_id=tid, rules=rules, now=now)
    elif step.action == "transfer":
        teams = [f"team:{team}" for team in rules.teams if f"team:{team}" != ticket.target]
        svc.transfer(session, actor=leader, to_target=rng.choice(teams), reason="需专业队伍处理",
                     ticket_id=tid, rules=rules, now=now)


def _sweep(engine: Engine, rules: Rules, now: datetime, report: SeedReport) -> None:
    with session_scope(engine) as session:
        run_sweep(session, rules=rules, notifier=RecordingNotifier(), now=now, digests=False)
    report.sweeps += 1


def _person(session: object, key: int, *, by_id: bool = False) -> Person:
    from sqlmodel import Session, select

    assert isinstance(session, Session)
    if by_id:
        person = session.get(Person, key)
    else:
        person = session.exec(select(Person).where(Person.telegram_id == key)).first()
    assert person is not None
    return person


def _staff(engine: Engine, rules: Rules, now: datetime, report: SeedReport) -> dict[str, int]:
    """A worker per grid and team, a leader per community, a supervisor for the district: target -> telegram id."""
    staff: dict[str, int] = {}
    telegram_id = 700_000
    with session_scope(engine) as session:
        def hire(key: str, name: str, role: str, scope: str) -> None:
            nonlocal telegram_id
            telegram_id += 1
            person = people.get_or_create_person(session, telegram_id=telegram_id, name=name, now=now)
            people.grant_role(session, person=person, role=role, scope=scope, rules=rules, now=now)
            staff[key] = telegram_id
            report.people += 1

        for index, grid in enumerate(rules.grids):
            hire(f"grid:{grid}", f"{SURNAMES[index % len(SURNAMES)]}师傅", "worker", grid)
        for index, team in enumerate(rules.teams):
            hire(f"team:{team}", f"{SURNAMES[-1 - index % len(SURNAMES)]}工", "worker", f"team:{team}")
        for index, (area_id, area) in enumerate(rules.areas.items()):
            if area.kind == "community":
                hire(f"leader:{area_id}", f"{SURNAMES[(index + 5) % len(SURNAMES)]}主任", "leader", area_id)
        hire("supervisor", "周督导", "supervisor", rules.root)
        hire(f"leader:{rules.root}", "区指挥中心", "leader", rules.root)
    return staff


def _residents(engine: Engine, rng: random.Random, now: datetime, report: SeedReport) -> list[int]:
    ids = list(range(800_001, 800_013))
    with session_scope(engine) as session:
        for telegram_id in ids:
            name = f"{rng.choice(SURNAMES)}{rng.choice(['阿姨', '先生', '女士', '大爷'])}"
            people.get_or_create_person(session, telegram_id=telegram_id, name=name, now=now)
            report.people += 1
    return ids
