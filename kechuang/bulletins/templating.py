"""Bulletin templates: what a spec holds, how it is checked, and how it renders in a sandbox.

A template's spec (YAML in the editor, JSON in the database; docs/bulletins.md):

    title: {en: "{{ region_short }} makes great strides in innovation", zh: "{{ region_short }}科技创新取得新进展"}
    values:                                   # the figures it states (kechuang.bulletins.figures)
      projects: {indicator: projects_approved, kind: project}
      output: {indicator: industrial_output, area: hengli-nantong-industrial-park,
               period: previous_year, kind: money, dollars: true}
    facts:                                    # registry facts (kechuang.bulletins.facts)
      zhongkeyi: zhongkeyi-nantong
    sections:
      - heading: {en: …, zh: …}               # optional
        paragraphs:
          - en: "{{ in_period|first_upper }}, {{ region_short }} approved {{ projects }} new … projects."
            zh: "{{ in_period }}，{{ region_short }}新批科技创新项目{{ projects }}。"
        chart: {value: projects, periods: 6, type: bar, title: {en: …, zh: …}}   # optional
        table: {indicators: [projects_approved, …], rows: children, title: {en: …, zh: …}}  # optional

Each text is a Jinja2 template rendered in Jinja's `SandboxedEnvironment` with a context
holding nothing but the declared values, the declared organisations' facts and a few words
(`region`, `region_short`, `period_name`, `in_period`, `year`): no model, no setting, no
attribute starting with "_". A name the template did not declare, or a way out of the sandbox,
is refused when the template is saved (`check`) and again when it renders
(`TemplateError`, naming where). A paragraph whose figure is missing is left out of the
bulletin (and listed in `Document.left_out`); a suppressed figure is printed as withheld,
with its reason in the annex.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

import jsonschema
import yaml
from django.urls import reverse
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from kechuang.indicators import disclosure, engine
from kechuang.indicators.models import Indicator
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period

from . import charts, language
from .document import Chart, Crumb, Document, Figure, FigureRef, Paragraph, Section, Table, iso, site
from .facts import LABELS as FACT_LABELS
from .facts import Fact, facts_of, organisation
from .figures import Declared, FigureError, Value, resolve

LANGUAGES = ("zh", "en")
BUILTINS = ("region", "region_short", "period_name", "in_period", "year")
NAME = r"^[a-z][a-z0-9_]{0,39}$"
TEXTS = {"type": "object", "properties": {"en": {"type": "string", "maxLength": 4000},
                                          "zh": {"type": "string", "maxLength": 4000}},
         "required": ["en", "zh"], "additionalProperties": False}

SCHEMA = {
    "type": "object",
    "required": ["title", "sections"],
    "additionalProperties": False,
    "properties": {
        "title": TEXTS,
        "values": {
            "type": "object", "propertyNames": {"pattern": NAME}, "maxProperties": 100,
            "additionalProperties": {
                "type": "object", "required": ["indicator"], "additionalProperties": False,
                "properties": {
                    "indicator": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
                    "kind": {"enum": list(language.KINDS)},
                    "precision": {"type": "integer", "minimum": 0, "maximum": 6},
                    "area": {"type": "string", "minLength": 1, "maxLength": 100},
                    "period": {"enum": ["same", "previous_year", "previous", "same_last_year"]},
                    "dollars": {"type": "boolean"},
                },
            },
        },
        "facts": {"type": "object", "propertyNames": {"pattern": NAME}, "maxProperties": 50,
                  "additionalProperties": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"}},
        "sections": {
            "type": "array", "minItems": 1, "maxItems": 50,
            "items": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "heading": TEXTS,
                    "paragraphs": {"type": "array", "items": TEXTS, "maxItems": 100},
                    "chart": {
                        "type": "object", "required": ["value"], "additionalProperties": False,
                        "properties": {"value": {"type": "string", "pattern": NAME},
                                       "periods": {"type": "integer", "minimum": 2, "maximum": 20},
                                       "type": {"enum": ["bar", "line"]}, "title": TEXTS},
                    },
                    "table": {
                        "type": "object", "required": ["indicators"], "additionalProperties": False,
                        "properties": {"indicators": {"type": "array", "minItems": 1, "maxItems": 8,
                                                      "items": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}},
                                       "rows": {"enum": ["children"]}, "title": TEXTS},
                    },
                },
            },
        },
    },
}

#: How a withheld figure reads in a sentence; the annex gives the reason.
WITHHELD = {"en": "[withheld]", "zh": "[不予公布]"}
MARK = re.compile("\x1e([^\x1f]*)\x1f")
#: What a template may read of a declared organisation.
FACT_NAMES = frozenset(FACT_LABELS) | {"wholly_owned"}


class TemplateError(ValueError):
    """A template that cannot be used: `where` says which part ("sections[2].paragraphs[0].en")."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message


def _first_upper(text) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


#: The largest string, list or number a template may make: a sentence needs nothing near it, and
#: "x" * 10**9 or 9**9**9 would take the server's memory or time (the sandbox allows both).
LARGEST = 10_000


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, with multiplication and powers kept small."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left, right):
        if operator == "**":
            if not all(isinstance(x, int | Decimal) and abs(x) <= 100 for x in (left, right)):
                raise SecurityError("powers are limited to small whole numbers (at most 100 ** 100)")
        elif isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
            times, repeated = (right, left) if isinstance(left, str | list | tuple) else (left, right)
            if not isinstance(times, int) or len(repeated) * max(times, 0) > LARGEST:
                raise SecurityError(f"a repeated text or list is limited to {LARGEST:,} items")
        return super().call_binop(context, operator, left, right)


def environment() -> SandboxedEnvironment:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals.clear()  # no range, cycler, joiner, lipsum, namespace: only what the template declares
    env.filters["first_upper"] = _first_upper
    return env


ENV = environment()


# --- checking a spec --------------------------------------------------------------------------


def parse(source: str) -> dict:
    """A spec from the editor's YAML; TemplateError naming the line on a syntax error."""
    try:
        spec = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise TemplateError(where, f"not valid YAML: {getattr(error, 'problem', None) or error}") from None
    if not isinstance(spec, dict):
        raise TemplateError("", "a template is a YAML mapping with title, values, facts and sections")
    return spec


def check(spec: dict) -> dict:
    """The spec, if it is a template kechuang can render: its shape, its indicators, and in
    every text, valid Jinja using only the names it declares."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for error in sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path)):
        raise TemplateError(_path(error.absolute_path), error.message)
    values, facts = spec.get("values", {}), spec.get("facts", {})
    clash = sorted((set(values) & set(facts)) | ((set(values) | set(facts)) & set(BUILTINS)))
    if clash:
        raise TemplateError("values", f"{', '.join(clash)}: a name used twice (values, facts and the built-in "
                                      f"names {', '.join(BUILTINS)} must differ)")
    codes = {entry["indicator"] for entry in values.values()}
    for section in spec["sections"]:
        codes |= set(section.get("table", {}).get("indicators", ()))
    known = set(Indicator.objects.filter(code__in=codes).values_list("code", flat=True))
    for name, entry in values.items():
        if entry["indicator"] not in known:
            raise TemplateError(f"values.{name}.indicator", f"{entry['indicator']!r} is not an indicator "
                                                            "(`kechuang indicator --list` shows the catalogue)")
        if entry.get("dollars") and entry.get("kind") != "money":
            raise TemplateError(f"values.{name}.dollars", "only money (kind: money) is shown in dollars too")
    names = set(values) | set(facts) | set(BUILTINS)
    for where, text in _texts(spec):
        try:
            parsed = ENV.parse(text)
        except TemplateSyntaxError as error:
            raise TemplateError(where, f"line {error.lineno}: {error.message}") from None
        unknown = sorted(meta.find_undeclared_variables(parsed) - names)
        if unknown:
            raise TemplateError(where, f"{', '.join(unknown)}: not declared (a template reads only its values, "
                                       f"its facts and {', '.join(BUILTINS)})")
        for node in parsed.find_all(nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name in facts and node.attr not in FACT_NAMES:
                raise TemplateError(where, f"{node.node.name}.{node.attr}: not a fact kechuang keeps "
                                           f"(one of {', '.join(sorted(FACT_NAMES))})")
    for index, section in enumerate(spec["sections"]):
        for table_code in section.get("table", {}).get("indicators", ()):
            if table_code not in known:
                raise TemplateError(f"sections[{index}].table.indicators", f"{table_code!r} is not an indicator")
        chart = section.get("chart")
        if chart and chart["value"] not in values:
            raise TemplateError(f"sections[{index}].chart.value", f"{chart['value']!r} is not one of the values")
    return spec


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _texts(spec: dict):
    for lang in LANGUAGES:
        yield f"title.{lang}", spec["title"][lang]
    for index, section in enumerate(spec["sections"]):
        for lang in LANGUAGES:
            if "heading" in section:
                yield f"sections[{index}].heading.{lang}", section["heading"][lang]
            for number, paragraph in enumerate(section.get("paragraphs", ())):
                yield f"sections[{index}].paragraphs[{number}].{lang}", paragraph[lang]


# --- rendering --------------------------------------------------------------------------------


@dataclass
class Inputs:
    """What a bulletin is rendered from: computed once, written in both languages."""

    spec: dict
    region: Region
    period: Period
    as_of: dt.datetime
    values: dict[str, Value]
    facts: dict[str, dict[str, Fact | None]]
    series: dict[int, engine.Table] = field(default_factory=dict)  # section index → the chart's values
    tables: dict[int, engine.Table] = field(default_factory=dict)  # section index → the table's values


def gather(spec: dict, region: Region, period: Period, *, as_of: dt.datetime | None = None) -> Inputs:
    """Compute every value, fact, chart series and table the spec needs, as the public sees
    them, as the data stood at `as_of` (default now)."""
    from django.utils import timezone

    moment = as_of or timezone.now()
    declared = [Declared.from_spec(name, entry) for name, entry in spec.get("values", {}).items()]
    try:
        values = resolve(declared, region, period, as_of=as_of)
    except FigureError as error:
        raise TemplateError("values", str(error)) from None
    day = timezone.localtime(moment).date()
    facts = {}
    for name, key in spec.get("facts", {}).items():
        try:
            facts[name] = facts_of(organisation(key), day=day, year=period.year)
        except ValueError as error:
            raise TemplateError(f"facts.{name}", str(error)) from None
    inputs = Inputs(spec, region, period, moment, values, facts)
    for index, section in enumerate(spec["sections"]):
        if "chart" in section:
            value = values[section["chart"]["value"]]
            periods = [period_back(value.period, n) for n in range(section["chart"].get("periods", 6) - 1, -1, -1)]
            inputs.series[index] = engine.evaluate([value.indicator.code], [value.area], periods, public=True,
                                                   as_of=as_of)
        if "table" in section:
            areas = engine.areas_for(region.code, by="children", on=period.end)
            inputs.tables[index] = engine.evaluate(section["table"]["indicators"], areas, [period], public=True,
                                                   as_of=as_of)
    return inputs


def period_back(period: Period, steps: int) -> Period:
    """`steps` periods before: the previous half-year, quarter or month; for months from
    January (1-5月) the same months a year before, as statistical tables compare them."""
    for _ in range(steps):
        period = period.same_period_last_year() if period.kind in ("range", "year") else period.previous()
    return period


class _Slot:
    """A declared figure or fact in the sandbox: printing it leaves a mark the renderer
    turns into a FigureRef. `value` is the number, for conditions ({% if x.value > 0 %})."""

    __slots__ = ("_renderer", "_name", "value")

    def __init__(self, renderer: _Renderer, name: str, value):
        self._renderer, self._name, self.value = renderer, name, value

    def __str__(self) -> str:
        return self._renderer.mark(self._name)


class _Organisation:
    """An organisation's facts in the sandbox: `zhongkeyi.parent`, `hengli.next_phase` …"""

    __slots__ = ("_renderer", "_name", "wholly_owned")

    def __init__(self, renderer: _Renderer, name: str, facts: dict[str, Fact | None]):
        self._renderer, self._name = renderer, name
        parent = facts.get("parent")
        self.wholly_owned = bool(parent and parent.wholly_owned)

    def __getattr__(self, fact: str):
        if fact.startswith("_") or fact not in FACT_LABELS:
            raise AttributeError(fact)
        return _Slot(self._renderer, f"{self._name}.{fact}", None)


class _Renderer:
    def __init__(self, inputs: Inputs, lang: str):
        self.inputs, self.lang = inputs, lang
        self.numbers: dict[str, int] = {}
        self.figures: list[Figure] = []

    # What a mark prints, and the annex entry of the figure, made when first printed.
    def mark(self, name: str) -> str:
        if name not in self.numbers:
            figure = self._figure(name, len(self.figures) + 1)
            self.numbers[name] = figure.number
            self.figures.append(figure)
        return f"\x1e{name}\x1f"

    def _figure(self, name: str, number: int) -> Figure:
        if "." in name:
            holder, fact_name = name.split(".", 1)
            fact = self.inputs.facts[holder][fact_name]
            if fact is None:
                raise language.LanguageError(f"the registry holds no {fact_name} for {self.inputs.spec['facts'][holder]}")
            return Figure(
                number=number, name=name, label=fact.label(self.lang), definition=fact.label(self.lang),
                area=self.inputs.facts[holder]["name"].text(self.lang), area_key=self.inputs.spec["facts"][holder],
                period="", value=fact.value, text=fact.text(self.lang), basis="registry", sources=fact.sources,
                as_of=iso(self.inputs.as_of), link=fact.link)
        value = self.inputs.values[name]
        indicator = value.indicator
        if value.value is None and not value.suppressed:
            raise language.LanguageError(f"{name}: no figure for {value.area.key} in {value.period.code}")
        precision = value.declared.precision
        if precision is None and value.declared.kind in ("percent", "percentage_point", None):
            precision = indicator.precision  # as the indicator is published: 56.0%
        text = WITHHELD[self.lang] if value.suppressed else language.number(
            value.value, language=self.lang, kind=value.declared.kind, precision=precision,
            usd_rate=value.rate.rate if value.rate else None)
        return Figure(
            number=number, name=name, label=_pick(self.lang, indicator.name_zh, indicator.name_en),
            definition=_pick(self.lang, indicator.description_zh or indicator.name_zh,
                             indicator.description_en or indicator.name_en),
            area=_pick(self.lang, value.area.name_zh, value.area.name_en), area_key=value.area.key,
            period=value.period.code, value="" if value.value is None else str(value.value), text=text,
            unit=indicator.unit, basis=value.basis, provisional=value.provisional,
            suppressed=_reason(value.suppressed, self.lang), indicator=indicator.code, sources=value.sources,
            contributors=value.contributors, as_of=iso(value.as_of), link=value.link)

    def context(self) -> dict:
        region, period, lang = self.inputs.region, self.inputs.period, self.lang
        words = {
            "region": _pick(lang, region.name_zh, region.name_en),
            "region_short": short_name(region, lang),
            "period_name": language.period_text(period, language=lang),
            "in_period": language.period_text(period, language=lang, with_year=False, preposition=True),
            "year": period.year,
        }
        for name, value in self.inputs.values.items():
            words[name] = _Slot(self, name, value.value)
        for name, facts in self.inputs.facts.items():
            words[name] = _Organisation(self, name, facts)
        return words

    def runs(self, where: str, text: str) -> tuple:
        """A text rendered in the sandbox, as runs; LanguageError when a figure is missing."""
        try:
            printed = ENV.from_string(text).render(self.context())
        except SecurityError as error:
            raise TemplateError(where, f"refused by the sandbox: {error}") from None
        except UndefinedError as error:
            raise TemplateError(where, f"{error} (a template reads only what it declares)") from None
        except TemplateSyntaxError as error:
            raise TemplateError(where, f"line {error.lineno}: {error.message}") from None
        except language.LanguageError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError) as error:
            raise TemplateError(where, f"could not render: {error}") from None
        runs, at = [], 0
        for match in MARK.finditer(printed):
            if match.start() > at:
                runs.append(printed[at:match.start()])
            name = match.group(1)
            number = self.numbers[name]
            runs.append(FigureRef(number, self.figures[number - 1].text))
            at = match.end()
        if at < len(printed):
            runs.append(printed[at:])
        return tuple(runs)

    def plain(self, where: str, text: str) -> str:
        """A heading or title: its figures as text (they stay in the annex)."""
        return "".join(run if isinstance(run, str) else run.text for run in self.runs(where, text))


def render(inputs: Inputs, lang: str, *, version: int = 0, note: str = "") -> Document:
    """The bulletin in one language."""
    if lang not in LANGUAGES:
        raise TemplateError("", f"language {lang!r}: expected zh or en")
    renderer = _Renderer(inputs, lang)
    spec, region, period = inputs.spec, inputs.region, inputs.period
    left_out: list[str] = []
    sections = []
    for index, section in enumerate(spec["sections"]):
        blocks = []
        for number, paragraph in enumerate(section.get("paragraphs", ())):
            where = f"sections[{index}].paragraphs[{number}].{lang}"
            saved = (dict(renderer.numbers), list(renderer.figures))
            try:
                blocks.append(Paragraph(renderer.runs(where, paragraph[lang])))
            except language.LanguageError as error:
                renderer.numbers, renderer.figures = saved  # a left-out sentence adds no figure
                left_out.append(f"{where}: {error}")
        if index in inputs.series:
            blocks.append(_chart(renderer, section["chart"], inputs.series[index]))
        if index in inputs.tables:
            blocks.append(_table(renderer, section["table"], inputs.tables[index]))
        heading = renderer.plain(f"sections[{index}].heading.{lang}", section["heading"][lang]) \
            if "heading" in section else ""
        if blocks:
            sections.append(Section(heading, tuple(blocks)))
    title = renderer.plain(f"title.{lang}", spec["title"][lang])
    moment = inputs.as_of
    dateline = (f"更新日期：{moment:%Y-%m-%d}" if lang == "zh" else f"Updated: {moment:%Y-%m-%d}")
    return Document(
        language=lang, title=title, region=_pick(lang, region.name_zh, region.name_en), region_code=region.code,
        period=period.code, period_label=language.period_text(period, language=lang),
        dateline=dateline, breadcrumb=breadcrumb(region, title, lang), sections=tuple(sections),
        figures=tuple(renderer.figures), as_of=iso(moment), template=spec.get("code", ""), version=version,
        revision_note=note, left_out=tuple(left_out))


def _chart(renderer: _Renderer, chart: dict, table: engine.Table) -> Chart:
    lang = renderer.lang
    value = renderer.inputs.values[chart["value"]]
    area = value.area
    categories = [language.period_text(p, language=lang) if lang == "en" else p.label("zh") for p in table.periods]
    points, printed = [], []
    for period in table.periods:
        result = table.get(value.indicator.code, area.key, period)
        if result.shown is None and result.suppressed:
            points.append(charts.SUPPRESSED)
            printed.append(charts.SUPPRESSED_MARK)
        else:
            points.append(result.shown)
            printed.append("" if result.shown is None else _cell(result, lang))
    name = _pick(lang, value.indicator.name_zh, value.indicator.name_en)
    title = chart.get("title", {}).get(lang) or name
    draw = charts.line_chart if chart.get("type") == "line" else charts.bar_chart
    # The caption carries the title; drawn in the SVG too, it would show twice.
    svg = draw(categories, [(name, points)], unit=value.indicator.unit, language=lang)
    return Chart(title, svg, tuple(categories), ((name, tuple(printed)),), value.indicator.unit)


def _table(renderer: _Renderer, spec: dict, table: engine.Table) -> Table:
    lang = renderer.lang
    header = (_pick(lang, "地区", "Region"),
              *(_pick(lang, i.name_zh, i.name_en) + (f" ({i.unit})" if i.unit else "") for i in table.indicators))
    rows = []
    for area in table.areas:
        cells = []
        for indicator in table.indicators:
            result = table.get(indicator.code, area.key, table.periods[0])
            cells.append(charts.SUPPRESSED_MARK if result.shown is None and result.suppressed
                         else "" if result.shown is None else _cell(result, lang))
        rows.append((_pick(lang, area.name_zh, area.name_en), *cells))
    title = spec.get("title", {}).get(lang) or ""
    note = _pick(lang, "“—”表示为保护企业数据不予公布。", "“—” marks a figure withheld to protect enterprises' data.")
    return Table(title, header, tuple(rows), note)


def _cell(result: engine.Result, lang: str) -> str:
    from kechuang.indicators import display

    return display.text(result.indicator, result.shown, lang)


def _pick(lang: str, zh: str, en: str) -> str:
    return (zh or en) if lang == "zh" else (en or zh)


def _reason(reason: str, lang: str) -> str:
    if not reason or lang == "en":
        return reason
    return disclosure.reason_zh(reason) or reason


def short_name(region: Region, lang: str) -> str:
    """通州区 → 通州, "Tongzhou District" → "Tongzhou": as a bulletin names its own region."""
    if lang == "zh":
        name = region.name_zh
        return name[:-1] if len(name) > 2 and name[-1] in "区县市" else name
    name = region.name_en or region.name_zh
    for suffix in (" District", " County", " City", " Prefecture"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def breadcrumb(region: Region, title: str, lang: str) -> tuple[Crumb, ...]:
    """Home › Regions › Jiangsu › Nantong › Tongzhou district › the bulletin, as the seed's."""
    crumbs = [Crumb(_pick(lang, "首页", "Home"), site(reverse("home"))),
              Crumb(_pick(lang, "地区", "Regions"), site(reverse("regions")))]
    for place in [*region.ancestors(), region]:
        crumbs.append(Crumb(_pick(lang, place.name_zh, place.name_en), site(reverse("region", args=[place.code]))))
    crumbs.append(Crumb(title))
    return tuple(crumbs)
