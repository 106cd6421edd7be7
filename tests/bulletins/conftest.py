"""The bulletins' fixtures: the demo world (module-scoped, rolled back after the module), and
a bulletin built by hand, as a template would render it: the seed article's figures
(tongzhou-innovation-2023-09-04) in English and Chinese, with a provisional figure, a
withheld one, a chart and a table."""

import pytest
from django.db import transaction

from kechuang.bulletins.charts import SUPPRESSED, bar_chart
from kechuang.bulletins.document import (
    Chart,
    Crumb,
    Document,
    Figure,
    FigureRef,
    Paragraph,
    Section,
    SourceRef,
    Table,
)
from kechuang.demo.builder import build_demo

AS_OF = "2023-09-04T10:00:00+08:00"
TONGZHOU = "320612"

SOURCES = {
    "en": (SourceRef("tongzhou-sti-2023h1", "Science and technology work in the first half of 2023",
                     "https://example.org/tongzhou/sti-2023h1", "Tongzhou District Science and Technology Bureau"),),
    "zh": (SourceRef("tongzhou-sti-2023h1", "2023年上半年科技工作情况", "https://example.org/tongzhou/sti-2023h1",
                     "南通市通州区科学技术局"),),
}
PARK_SOURCE = {
    "en": (SourceRef("hengli-2022", "Hengli (Nantong) Industrial Park annual report 2022", "", "Hengli Group"),),
    "zh": (SourceRef("hengli-2022", "恒力（南通）产业园2022年度报告", "", "恒力集团"),),
}

# Each figure: what both languages share, and under "en" and "zh" what each writes.
FIGURES = [
    dict(name="projects", area_key=TONGZHOU, period="2023H1", value="74", basis="official", indicator="sti_projects",
         contributors=74, link="/indicators/sti_projects/320612/2023H1/",
         en=dict(label="New science and technology innovation projects",
                 definition="Projects approved by the district in the period.", area="Tongzhou district", text="74"),
         zh=dict(label="新立项科技创新项目", definition="本期区级立项的科技创新项目数。", area="通州区",
                 text="74个", unit="个")),
    dict(name="collaborations", area_key=TONGZHOU, period="2023H1", value="59", basis="official",
         indicator="industry_academia", contributors=59, link="/indicators/industry_academia/320612/2023H1/",
         en=dict(label="Industry–academia collaborative projects",
                 definition="Agreements signed between enterprises and universities or institutes.",
                 area="Tongzhou district", text="59"),
         zh=dict(label="产学研合作项目", definition="企业与高校、科研院所签订的合作协议数。", area="通州区",
                 text="59项", unit="项")),
    dict(name="little_giants", area_key=TONGZHOU, period="2023H1", value="6", basis="computed",
         indicator="little_giants_new", contributors=6, link="/indicators/little_giants_new/320612/2023H1/",
         en=dict(label='New national-level "little giant" enterprises',
                 definition="Enterprises newly designated specialized, refined, distinctive and innovative "
                            '"little giants" by the Ministry of Industry and Information Technology.',
                 area="Tongzhou district", text="six"),
         zh=dict(label="新增国家级专精特新“小巨人”企业",
                 definition="本期新获工业和信息化部认定的专精特新“小巨人”企业数。", area="通州区",
                 text="6家", unit="家")),
    dict(name="hightech_share", area_key=TONGZHOU, period="2023H1", value="56.0", unit="%", basis="official",
         provisional=True, indicator="hightech_output_share", contributors=212,
         link="/indicators/hightech_output_share/320612/2023H1/",
         en=dict(label="High-tech share of industrial output",
                 definition="Output of high-tech industries as a share of the output of industrial enterprises "
                            "above designated size.", area="Tongzhou district", text="56 percent"),
         zh=dict(label="高新技术产业产值占规上工业产值比重", definition="高新技术产业产值占规模以上工业总产值的比重。",
                 area="通州区", text="56.0%")),
    dict(name="zone_rd_spending", area_key="nantong-hi-tech-zone", period="2023H1", value="",
         basis="computed", indicator="rd_spending", contributors=2,
         en=dict(label="R&D spending of enterprises in the zone",
                 definition="Internal R&D expenditure of enterprises above designated size.",
                 area="Nantong National High-tech Industrial Development Zone", text="withheld", unit="yuan",
                 suppressed="fewer than 3 enterprises contribute"),
         zh=dict(label="园区企业研发经费支出", definition="规模以上企业研究与试验发展经费内部支出。",
                 area="南通国家高新技术产业开发区", text="不公开", unit="元", suppressed="涉及企业少于3家")),
    dict(name="zhongkeyi.capacity", area_key="zhongkeyi-nantong", period="", value="13000",
         basis="registry", link="/registry/organisations/zhongkeyi-nantong/",
         en=dict(label="Annual production capacity of dry vacuum pumps",
                 definition="Units the company can produce in a year, as it reports.",
                 area="Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd", text="13,000", unit="units"),
         zh=dict(label="干式真空泵年产能", definition="企业自报的年生产能力。", area="中科仪（南通）半导体设备有限公司",
                 text="1.3万台", unit="台")),
    dict(name="hengli.output", area_key="hengli-nantong", period="2022", value="13500000000.0000",
         basis="registry", link="/registry/organisations/hengli-nantong/",
         en=dict(label="Output of the industrial park", definition="Gross output value of the park in the year.",
                 area="Hengli (Nantong) Industrial Park", text="13.5 billion yuan ($1.86 billion)",
                 unit="yuan"),
         zh=dict(label="产业园产值", definition="园区年度总产值。", area="恒力（南通）产业园",
                 text="135亿元（约合18.6亿美元）", unit="元")),
]


def figures(language: str) -> tuple[Figure, ...]:
    made = []
    for number, spec in enumerate(FIGURES, start=1):
        own = spec[language]
        shared = {key: value for key, value in spec.items() if key not in ("en", "zh")}
        sources = PARK_SOURCE[language] if spec["name"] == "hengli.output" else SOURCES[language]
        made.append(Figure(number=number, sources=sources, as_of=AS_OF, **shared, **own))
    return tuple(made)


def ref(number: int, language: str) -> FigureRef:
    return FigureRef(number, FIGURES[number - 1][language]["text"])


def english() -> Document:
    def r(number):
        return ref(number, "en")

    opening = Section("", (
        Paragraph(("Great strides in innovation are taking place in Tongzhou district, Nantong, East China's "
                   "Jiangsu province.",)),
        Paragraph(("In the first half of the year, Tongzhou approved ", r(1),
                   " new scientific and technological innovation projects, introduced ", r(2),
                   " collaborative projects between academia and industry, and welcomed ", r(3),
                   ' new national-level "little giant" enterprises specializing in distinctive and emerging fields.')),
        Paragraph(("Additionally, the high-tech sector accounted for ", r(4),
                   " of Tongzhou's total industrial output.")),
        Chart("Projects and collaborations", bar_chart(
            ["H2 2022", "H1 2023"], [("Projects", [68, 74]), ("Collaborations", [52, 59])],
            title="Projects and collaborations", language="en"),
            ("H2 2022", "H1 2023"), (("Projects", ("68", "74")), ("Collaborations", ("52", "59")))),
    ))
    enterprises = Section("Enterprises", (
        Paragraph(("Of the ", r(1), " projects, most are in the Nantong National High-tech Industrial Development "
                   "Zone, where the R&D spending of enterprises was ", r(5), ".")),
        Paragraph(("Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd's annual production capacity currently "
                   "stands at ", r(6), " units.")),
        Table("Innovation in the first half of 2023", ("Area", "Projects", "Collaborations", "High-tech share (%)"),
              (("Tongzhou district", "74", "59", "56.0"),
               ("Nantong National High-tech Industrial Development Zone", "31", "22", "—")),
              note="— withheld (confidential)"),
        Chart("R&D spending", bar_chart(["H2 2022", "H1 2023"], [("R&D spending", [1.2, SUPPRESSED])],
                                        title="R&D spending", unit="billion yuan", language="en"),
              ("H2 2022", "H1 2023"), (("R&D spending", ("1.2", "—")),), unit="billion yuan"),
    ))
    parks = Section("Industrial parks", (
        Paragraph(("Last year, the park generated ", r(7), " in output.")),
    ))
    return Document(
        language="en", title="Tongzhou makes great strides in innovation", region="Tongzhou district",
        region_code=TONGZHOU, period="2023H1", period_label="first half of 2023", dateline="Updated: 2023-09-04",
        breadcrumb=(Crumb("Home", "/"), Crumb("Regions", "/regions/"), Crumb("Tongzhou district", "/regions/320612/"),
                    Crumb("Tongzhou makes great strides in innovation")),
        sections=(opening, enterprises, parks), figures=figures("en"), as_of=AS_OF, template="innovation-half-year",
        version=2, revision_note="The high-tech share was corrected from 55 to 56 percent.")


def chinese() -> Document:
    def r(number):
        return ref(number, "zh")

    opening = Section("", (
        Paragraph(("江苏省南通市通州区坚持创新发展，聚焦本地产业转型升级，科技创新取得长足进步。",)),
        Paragraph(("上半年，通州区新立项科技创新项目", r(1), "，新引进产学研合作项目", r(2),
                   "，新增国家级专精特新“小巨人”企业", r(3), "。")),
        Paragraph(("高新技术产业产值占规上工业产值比重达", r(4), "。")),
        Chart("科技创新项目与产学研合作", bar_chart(
            ["2022年下半年", "2023年上半年"], [("科技创新项目", [68, 74]), ("产学研合作", [52, 59])],
            title="科技创新项目与产学研合作", language="zh"),
            ("2022年下半年", "2023年上半年"), (("科技创新项目", ("68", "74")), ("产学研合作", ("52", "59")))),
    ))
    enterprises = Section("企业", (
        Paragraph(("在", r(1), "科技创新项目中，多数位于南通国家高新技术产业开发区，园区企业研发经费支出", r(5), "。")),
        Paragraph(("中科仪（南通）半导体设备有限公司干式真空泵年产能达", r(6), "。")),
        Table("2023年上半年科技创新情况",
              ("地区", "科技创新项目（个）", "产学研合作（项）", "高新技术产业产值占比（%）"),
              (("通州区", "74", "59", "56.0"), ("南通国家高新技术产业开发区", "31", "22", "—"))),
    ))
    parks = Section("产业园区", (
        Paragraph(("去年，恒力（南通）产业园实现产值", r(7), "。")),
    ))
    return Document(
        language="zh", title="通州区科技创新取得长足进步", region="通州区", region_code=TONGZHOU, period="2023H1",
        period_label="2023年上半年", dateline="更新日期：2023-09-04",
        breadcrumb=(Crumb("首页", "/"), Crumb("地区", "/regions/"), Crumb("通州区", "/regions/320612/"),
                    Crumb("通州区科技创新取得长足进步")),
        sections=(opening, enterprises, parks), figures=figures("zh"), as_of=AS_OF, template="innovation-half-year")


def demo_world(django_db_blocker, **options):
    """The demo in one transaction rolled back at the end (`bulletins=True`: with the seed's
    bulletin published and the next half-year's a draft)."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            list(build_demo(**options))
            yield
            transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    yield from demo_world(django_db_blocker)


@pytest.fixture(params=["en", "zh"], scope="module")
def sample_document(request) -> Document:
    return english() if request.param == "en" else chinese()
