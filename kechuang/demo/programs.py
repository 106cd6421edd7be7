"""The demo's programmes (科技计划): Tongzhou's calls, projects and academia–industry
collaborations, so the counts have records to count.

Two figures are real. Both come from the seed article (2023-09-04): "In the first half of
the year, Tongzhou approved 74 new scientific and technological innovation projects,
introduced 59 collaborative projects between academia and industry". So the demo has
exactly 74 innovation projects approved in 2023H1 (approval transitions dated 2023-01-01
to 2023-06-30, Asia/Shanghai) and 59 collaborations with an agreement signed in 2023H1,
of applicants in Tongzhou.

Everything else is invented, seeded and marked: every project is `synthetic`, its title
ends in "(demo)", its source is `demo-programmes`, and its applicant is a synthetic
"(demo)" enterprise. Around the article's figures, so that a count is never simply "all
rows": the 2022 call and its approvals in 2022H2, a second batch approved in 2023H2,
rejections, applications still submitted or under review, drafts, collaborations signed
in 2022 and 2023H2, some still waiting for the bureau or refused, and collaborations of
enterprises in other districts of Nantong (which count for them, not for Tongzhou).
Nothing is dated after the article.

The rows are written in bulk, built by the services' own helpers (`new_project`,
`party_rows`, `check_parties`) and walked through `LIFECYCLE` step by step, so they are
the rows `create_project` and `take` would write; only their history holds one creation
record per project instead of one per step. The reviews go through the services.
"""

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from kechuang import audit
from kechuang.programs import services
from kechuang.programs.models import Call, Party, PartyRole, Project, ProjectKind, ProjectTransition
from kechuang.programs.services import LIFECYCLE, SHANGHAI
from kechuang.registry.models import Organisation, OrganisationKind, Region, Source

SEED = 20230904
DEMO_SOURCE = "demo-programmes"
ARTICLE_DAY = dt.date(2023, 9, 4)

#: "Tongzhou approved 74 new scientific and technological innovation projects, introduced
#: 59 collaborative projects between academia and industry" in the first half of 2023.
APPROVED_2023H1 = 74
INTRODUCED_2023H1 = 59

CALL_KEY = "tongzhou-innovation-2023"
CALL_2022_KEY = "tongzhou-innovation-2022"
#: The call the demo keeps open (relative to the day the demo is built), to apply to.
OPEN_CALL_KEY = "tongzhou-innovation-open"
CATEGORIES = ["普通科创项目", "高成长型科创项目"]
CRITERIA = [{"name": "创新性", "max": 40}, {"name": "可行性", "max": 30}, {"name": "经济社会效益", "max": 30}]
DOCUMENTS = ["项目申报书", "营业执照", "上年度财务审计报告", "知识产权证明"]

#: The invented rest, by fate: how many of each.
CALL_2022 = {"approved": 50, "rejected": 9}
CALL_2023 = {"approved_h1": APPROVED_2023H1, "approved_h2": 11, "rejected": 14, "under_review": 6,
             "submitted": 4, "draft": 3}
COLLABORATIONS = {"2022": 46, "2023H1": INTRODUCED_2023H1, "2023H1 pending": 3, "2023H1 rejected": 2, "2023H2": 13}
PEER_COLLABORATIONS_2023H1 = 8

TOPICS = ["智能传感器", "高性能复合材料", "锂电池正极材料", "工业机器人控制系统", "生物医药中间体", "精密仪器校准",
          "5G通信模组", "光伏组件封装", "功能性家纺面料", "绿色建筑材料", "食品冷链保鲜", "高端数控装备",
          "航空精密部件", "医疗器械检测", "储能系统集成", "工业互联网平台"]


@dataclass
class _Plan:
    """One project to write: its fields, its partners and its steps (transition, at, comment)."""

    applicant: Organisation
    fields: dict
    partners: list[tuple[Organisation, str]] = field(default_factory=list)
    steps: list[tuple[str, dt.datetime, str]] = field(default_factory=list)


def demo_programmes(region_code: str) -> Iterator[str]:
    """The calls, projects and collaborations of the region, once: a second `kechuang demo` adds nothing."""
    if Call.objects.filter(key=CALL_KEY).exists():
        yield "programmes: the demo calls and projects are there already"
        return
    region = Region.objects.get(code=region_code)
    source = demo_source()
    enterprises = list(Organisation.objects.in_region(region)
                       .filter(kind=OrganisationKind.ENTERPRISE, synthetic=True).order_by("key"))
    academics = list(Organisation.objects.filter(synthetic=True, kind__in=services.ACADEMIC_KINDS).order_by("key"))
    # Synthetic enterprises of the other districts of Nantong (synthetic.NANTONG_PEERS).
    peers = list(Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE, synthetic=True)
                 .exclude(pk__in=[e.pk for e in enterprises]).order_by("key"))
    if not enterprises or not academics:
        yield f"programmes: no synthetic enterprises, universities or institutes in {region.name_zh}; nothing to do"
        return
    rng = random.Random(SEED)
    call_2022 = _call(region, CALL_2022_KEY, "2022年通州区科技创新项目", 2022, source)
    call_2023 = _call(region, CALL_KEY, "2023年通州区科技创新项目", 2023, source)
    plans = (_innovation_2022(rng, call_2022, enterprises, academics)
             + _innovation_2023(rng, call_2023, enterprises, academics)
             + _collaborations(rng, enterprises, academics, peers))
    projects = _write(plans, source)
    yield (f"programmes: calls {call_2022} and {call_2023}, {projects} synthetic projects and collaborations; "
           f"{APPROVED_2023H1} innovation projects approved and {INTRODUCED_2023H1} collaborations introduced "
           f"in {region.name_zh} in 2023H1 (the article's figures)")
    yield _reviews(call_2023, academics)
    yield f"programmes: {_open_call(region, source)} open for applications, for the demo users to apply to"


def demo_source() -> Source:
    source, _ = Source.objects.get_or_create(key=DEMO_SOURCE, defaults={
        "title": "Synthetic demo programmes (not real projects) 演示用虚构项目",
        "publisher": "kechuang demo",
        "note": "Invented by kechuang/demo/programs.py around the seed article's two figures (74 projects "
                "approved, 59 collaborations introduced in Tongzhou in 2023H1). No real enterprise's projects.",
    })
    return source


def _local(day: dt.date, rng: random.Random) -> dt.datetime:
    """A moment of office hours on `day`, in Asia/Shanghai."""
    return dt.datetime(day.year, day.month, day.day, rng.randint(9, 16), rng.randrange(0, 60, 5), tzinfo=SHANGHAI)


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _after(rng: random.Random, moment: dt.datetime, low: int, high: int) -> dt.datetime:
    return _local(moment.date() + dt.timedelta(days=rng.randint(low, high)), rng)


def _yuan(rng: random.Random, low_wan: int, high_wan: int) -> Decimal:
    """An amount between low and high 万元, to the thousand yuan."""
    return Decimal(rng.randint(low_wan * 10, high_wan * 10) * 1000)


def _call(region: Region, key: str, programme_zh: str, year: int, source: Source) -> Call:
    # Calls open the winter before their year and close in spring (通州区科技计划项目申报通知).
    return services.open_call(
        region, key=key, programme_zh=programme_zh, programme_en=f"Tongzhou science and technology innovation "
        f"projects {year} (demo)", categories=CATEGORIES, criteria=CRITERIA, required_documents=DOCUMENTS,
        opens=dt.datetime(year - 1, 12, 1, 9, 0, tzinfo=SHANGHAI),
        closes=dt.datetime(year, 3, 15, 17, 0, tzinfo=SHANGHAI),
        budget=Decimal(30_000_000 if year == 2022 else 36_000_000), places=90 if year == 2023 else 60,
        synthetic=True, source=source,
    )


def _open_call(region: Region, source: Source) -> Call:
    """This year's call, open from two weeks before the demo was built to six weeks after, so
    that an enterprise user of the demo has a call to apply to (the article's calls are closed)."""
    today = timezone.localdate()
    return services.open_call(
        region, key=OPEN_CALL_KEY, programme_zh=f"{today.year}年通州区科技创新项目（受理中）",
        programme_en=f"Tongzhou science and technology innovation projects {today.year}, open (demo)",
        categories=CATEGORIES, criteria=CRITERIA, required_documents=DOCUMENTS,
        opens=dt.datetime.combine(today - dt.timedelta(days=14), dt.time(9), tzinfo=SHANGHAI),
        closes=dt.datetime.combine(today + dt.timedelta(days=42), dt.time(17), tzinfo=SHANGHAI),
        budget=Decimal(40_000_000), places=90, synthetic=True, source=source,
    )


def _innovation(rng: random.Random, call: Call, applicant: Organisation, academics: list[Organisation],
                number: int) -> _Plan:
    category = CATEGORIES[1] if rng.random() < 0.25 else CATEGORIES[0]
    requested = _yuan(rng, 100, 500) if category == CATEGORIES[1] else _yuan(rng, 20, 200)
    partners = []
    if rng.random() < 0.2:
        partner = rng.choice(academics)
        partners.append((partner, PartyRole.UNIVERSITY_PARTNER if partner.kind == OrganisationKind.UNIVERSITY
                         else PartyRole.INSTITUTE_PARTNER))
    start = dt.date(call.closes.year, 7, 1)
    return _Plan(applicant, {
        "key": f"demo-{call.key}-{number:03d}", "kind": ProjectKind.INNOVATION, "call": call, "category": category,
        "title_zh": f"{rng.choice(TOPICS)}关键技术研发及产业化(demo)",
        "title_en": "Key technology R&D and industrialisation (demo)",
        "requested_funding": requested, "own_funding": requested * rng.randint(1, 3),
        "planned_start": start, "planned_end": start.replace(year=start.year + 2) - dt.timedelta(days=1),
    }, partners)


def _submitted(rng: random.Random, call: Call, plan: _Plan) -> dt.datetime:
    opens, closes = call.opens.date(), call.closes.date() - dt.timedelta(days=1)
    at = _local(_day(rng, opens + dt.timedelta(days=1), closes), rng)
    plan.steps.append(("submit", at, ""))
    return at


def _innovation_2022(rng, call, enterprises, academics) -> list[_Plan]:
    plans = []
    for number in range(1, sum(CALL_2022.values()) + 1):
        plan = _innovation(rng, call, rng.choice(enterprises), academics, number)
        _submitted(rng, call, plan)
        review = _local(dt.date(2022, 4, 6), rng)
        plan.steps.append(("start_review", review, ""))
        if number <= CALL_2022["approved"]:
            approved = _local(_day(rng, dt.date(2022, 7, 1), dt.date(2022, 12, 20)), rng)
            started = _after(rng, approved, 10, 30)
            plan.steps += [("approve", approved, ""), ("start", started, "")]
            if number % 10 == 0:
                plan.steps.append(("terminate", _local(dt.date(2023, 5, 10), rng), "企业经营调整，申请终止(demo)"))
            elif number % 5 == 0:
                plan.steps.append(("complete", _local(_day(rng, dt.date(2023, 6, 1), dt.date(2023, 8, 31)), rng), ""))
        else:
            plan.steps.append(("reject", _local(dt.date(2022, 6, 28), rng), "综合评分未达立项线(demo)"))
        plans.append(plan)
    return plans


def _innovation_2023(rng, call, enterprises, academics) -> list[_Plan]:
    plans = []
    fates = [fate for fate, count in CALL_2023.items() for _ in range(count)]
    rng.shuffle(fates)
    last_day = fates.index("approved_h1")
    for number, fate in enumerate(fates, start=1):
        plan = _innovation(rng, call, rng.choice(enterprises), academics, number)
        plans.append(plan)
        if fate == "draft":
            continue
        _submitted(rng, call, plan)
        if fate == "submitted":
            continue
        plan.steps.append(("start_review", _local(dt.date(2023, 3, 27), rng), ""))
        if fate == "rejected":
            plan.steps.append(("reject", _local(_day(rng, dt.date(2023, 5, 5), dt.date(2023, 6, 20)), rng),
                               "综合评分未达立项线(demo)"))
        elif fate == "approved_h1":
            # The first batch (第一批) through the end of June, one of them on 30 June itself.
            day = _day(rng, dt.date(2023, 4, 10), dt.date(2023, 6, 30))
            approved = _local(dt.date(2023, 6, 30) if number == last_day + 1 else day, rng)
            plan.steps += [("approve", approved, ""), ("start", _after(rng, approved, 7, 30), "")]
        elif fate == "approved_h2":
            approved = _local(_day(rng, dt.date(2023, 7, 18), dt.date(2023, 8, 25)), rng)
            plan.steps.append(("approve", approved, ""))
    return plans


def _collaboration(rng, applicant, academics, peers, number, signed: dt.date) -> _Plan:
    partner = rng.choice(academics)
    partners = [(partner, PartyRole.UNIVERSITY_PARTNER if partner.kind == OrganisationKind.UNIVERSITY
                 else PartyRole.INSTITUTE_PARTNER)]
    if rng.random() < 0.2:
        others = [a for a in academics if a != partner]
        second = rng.choice(others)
        partners.append((second, PartyRole.UNIVERSITY_PARTNER if second.kind == OrganisationKind.UNIVERSITY
                         else PartyRole.INSTITUTE_PARTNER))
    if peers and rng.random() < 0.15:
        other = rng.choice(peers)
        if other != applicant:
            partners.append((other, PartyRole.ENTERPRISE_PARTNER))
    value = _yuan(rng, 20, 800)
    return _Plan(applicant, {
        "key": f"demo-collaboration-{number:03d}", "kind": ProjectKind.COLLABORATION, "call": None, "category": "",
        "title_zh": f"{rng.choice(TOPICS)}产学研合作(demo)",
        "title_en": "Academia–industry collaboration (demo)",
        "requested_funding": Decimal(0), "own_funding": value, "agreement_date": signed, "contract_value": value,
        "planned_start": signed, "planned_end": signed.replace(year=signed.year + rng.randint(1, 3)),
    }, partners)


def _collaborations(rng, enterprises, academics, peers) -> list[_Plan]:
    spans = {"2022": (dt.date(2022, 1, 5), dt.date(2022, 12, 28)),
             "2023H1": (dt.date(2023, 1, 1), dt.date(2023, 6, 30)),
             "2023H1 pending": (dt.date(2023, 5, 1), dt.date(2023, 6, 30)),
             "2023H1 rejected": (dt.date(2023, 2, 1), dt.date(2023, 6, 10)),
             "2023H2": (dt.date(2023, 7, 1), dt.date(2023, 7, 25))}
    groups = [(fate, enterprises) for fate, count in COLLABORATIONS.items() for _ in range(count)]
    groups += [("2023H1", peers)] * (PEER_COLLABORATIONS_2023H1 if peers else 0)
    plans = []
    for number, (fate, applicants) in enumerate(groups, start=1):
        signed = _day(rng, *spans[fate])
        if fate == "2023H1" and number == COLLABORATIONS["2022"] + 1:
            signed = dt.date(2023, 6, 30)  # one on the last day of the half
        plan = _collaboration(rng, rng.choice(applicants), academics, peers, number, signed)
        submitted = _after(rng, _local(signed, rng), 1, 12)
        plan.steps.append(("submit", submitted, ""))
        if fate == "2023H1 pending":
            plans.append(plan)
            continue
        review = _after(rng, submitted, 1, 5)
        plan.steps.append(("start_review", review, ""))
        if fate == "2023H1 rejected":
            plan.steps.append(("reject", _after(rng, review, 3, 10), "合作协议未约定技术成果归属(demo)"))
        else:
            approved = _after(rng, review, 3, 12)
            plan.steps += [("approve", approved, ""), ("start", _after(rng, approved, 1, 5), "")]
            if fate == "2022" and signed.month <= 6 and number % 3 == 0:
                plan.steps.append(("complete", _after(rng, approved, 150, 250), ""))
        plans.append(plan)
    return plans


def _write(plans: list[_Plan], source: Source) -> int:
    """The projects, their parties and their transitions, in bulk; each step checked by LIFECYCLE."""
    projects, parties, steps = [], [], []
    for plan in plans:
        fields = plan.fields
        project = services.new_project(plan.applicant, synthetic=True, source=source, **fields)
        rows = services.party_rows(project, plan.partners)
        services.check_parties(project.kind, [(row.organisation, row.role) for row in rows])
        state, last = project.state, None
        for name, at, comment in plan.steps:
            target = LIFECYCLE.check(name, state).target
            if last is not None and at < last:
                raise ValueError(f"{project.key}: {name} at {at} comes before the step before it")
            if at.date() > ARTICLE_DAY:
                raise ValueError(f"{project.key}: {name} at {at} is after the article")
            if name == "submit" and project.call is not None and not project.call.opens <= at <= project.call.closes:
                raise ValueError(f"{project.key}: submitted at {at}, outside its call")
            steps.append(ProjectTransition(project=project, name=name, from_state=state, to_state=target, at=at,
                                           comment=comment))
            state, last = target, at
        project.state = state
        projects.append(project)
        parties += rows
    # Parties and transitions hold their (now saved) project: Django fills in project_id.
    audit.bulk_create(Project, projects, batch_size=500)
    audit.bulk_create(Party, parties, batch_size=500)
    ProjectTransition.objects.bulk_create(steps, batch_size=500)
    return len(projects)


def _reviews(call: Call, academics: list[Organisation]) -> str:
    """The demo reviewer's assignments on the applications still under review: some scored,
    the others overdue. Through the services (conflicts of interest checked)."""
    reviewer = get_user_model().objects.filter(username="reviewer").first()
    if reviewer is None:
        return "programmes: no demo reviewer login; no reviews"
    affiliation = academics[0]
    services.register_expert(reviewer, affiliation=affiliation, expertise="新材料、智能制造(demo)")
    rng = random.Random(SEED + 1)
    pending = call.projects.filter(state="under_review").exclude(parties__organisation=affiliation).order_by("key")
    scored = 0
    for number, project in enumerate(pending):
        assignment = services.assign_reviewer(project, reviewer, due=dt.date(2023, 4, 17))
        if number % 2 == 0:
            scores = {c["name"]: rng.randint(c["max"] // 2, c["max"]) for c in call.criteria}
            services.submit_review(assignment, scores, "技术路线清晰，建议立项(demo)",
                                   at=dt.datetime(2023, 4, 14, 10, 0, tzinfo=SHANGHAI))
            scored += 1
    return (f"programmes: reviewer assigned to {len(pending)} applications under review, {scored} scored, "
            f"the others overdue since 2023-04-17")
