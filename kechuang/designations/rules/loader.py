"""Reading rule sets from their YAML files, checking them whole, and keeping them cached.

A rule set is data (docs/eligibility.md): a new version or a changed threshold is an
edited file, not code. The price of that is that the loader must refuse a file the engine
could misread, before anyone is screened with it. It refuses, naming the file, the place in
it and the rows:

- a table of bands (revenue brackets, score bands) whose rows overlap, leave a gap, or do
  not cover every value: a value on no row, or on two, has no answer;
- a score band worth more than its item, a judgement worth more than its item;
- an unknown figure, judgement, parameter, source or metric unit; a formula that does not
  parse or refers to itself; a remedy that does not change the figure it should;
- two versions of one family in force on the same day, or two files with one code.

Numbers are read exactly: YAML floats become Decimal (never float), and a quantity may be
written with its unit, as the policy texts write it: `5000万元`, `2亿元`, `5%`.

Rule sets are read on first use and cached for the process (`rule_sets()`); `clear_cache()`
forgets them (tests, and a changed setting: ELIGIBILITY_PARAMETERS overrides parameters,
ELIGIBILITY_RULE_DIRS adds directories of rule sets).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.conf import settings
from django.core.signals import setting_changed

from kechuang.indicators import formulas
from kechuang.statistics.periods import Period
from kechuang.statistics.units import NumberError, UnitError, find_unit, parse_number, to_base

from .definitions import (
    OPERATORS,
    UNITS,
    Alternative,
    Band,
    Citation,
    Criterion,
    Figure,
    Judgement,
    Note,
    Option,
    Parameter,
    Remedy,
    RuleSet,
    Score,
    ScoreGroup,
    ScoreItem,
    Source,
    Table,
)
from .explain import quantity

DATA = Path(__file__).parent / "data"
METRICS_CATALOGUE = Path(__file__).parents[2] / "statistics" / "data" / "metrics.yaml"

#: The designation type codes a rule set may grant or require (the designation registry's).
DESIGNATION_TYPES = ("little-giant", "srdi-sme", "innovative-sme", "tech-innovative-sme", "hnte", "tech-sme")

#: Which metric unit kinds a figure of each unit may read.
_METRIC_UNIT_KINDS = {"money": {"money"}, "count": {"count"}, "percent": {"percent"},
                      "years": {"quantity", "count"}, "points": {"quantity", "count"}, "number": {"quantity", "count"}}
_EDGES = ("lower-inclusive", "upper-inclusive", "higher-points")
_CRITERION_KINDS = ("figure", "holds", "judgement", "score", "all", "any", "bracket")
# A year far from any data: formulas.needs() is asked which years a formula reads relative to it.
_REFERENCE_YEAR = 2000


class RuleSetError(ValueError):
    """A rule set file that cannot be used, with the file, the place in it and the reason."""

    def __init__(self, file: Path | str, where: str, message: str):
        self.file, self.where, self.reason = Path(file).name, where, message
        super().__init__(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")


class _DecimalLoader(yaml.SafeLoader):
    """YAML with floats read as Decimal: 4.99 must stay 4.99, never 4.9900000000000002."""


def _decimal_constructor(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a number", node.start_mark) from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise RuleSetError(path, "", f"not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise RuleSetError(path, "", "a rule set is a mapping (code, family, criteria …)")
    return data


# --- the cache ---------------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, RuleSet] | None = None


def rule_sets() -> dict[str, RuleSet]:
    """Every rule set, by code: read and checked on first use, then cached for the process."""
    global _cache
    if _cache is None:
        with _lock:
            if _cache is None:
                directories = [DATA, *map(Path, getattr(settings, "ELIGIBILITY_RULE_DIRS", []))]
                _cache = load_directories(directories, getattr(settings, "ELIGIBILITY_PARAMETERS", {}))
    return _cache


def clear_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def _forget_on_settings_change(setting, **kwargs):
    if setting in ("ELIGIBILITY_PARAMETERS", "ELIGIBILITY_RULE_DIRS"):
        clear_cache()


setting_changed.connect(_forget_on_settings_change)


# --- a set of files ----------------------------------------------------------------------------


def load_directories(directories: list[Path], overrides: dict | None = None) -> dict[str, RuleSet]:
    """Every `*.yaml` rule set in the directories, checked one by one and against each other."""
    raw: dict[str, tuple[Path, dict]] = {}
    for directory in directories:
        for path in sorted(Path(directory).glob("*.yaml")):
            data = read_yaml(path)
            code = data.get("code")
            if not isinstance(code, str) or not code.strip():
                raise RuleSetError(path, "code", "every rule set has a code, e.g. HNTE-2016")
            if code in raw:
                raise RuleSetError(path, "code", f"{code} is also the code of {raw[code][0].name}")
            raw[code] = (path, data)
    overrides = dict(overrides or {})
    for code in overrides:
        if code not in raw:
            raise RuleSetError("settings.ELIGIBILITY_PARAMETERS", code, f"no rule set has the code {code}; "
                                                                         f"the codes are {', '.join(sorted(raw))}")
    catalogue = _metric_units()
    loaded = {code: _Parser(path, _merged(code, raw), overrides.get(code, {}), catalogue).rule_set()
              for code, (path, _) in raw.items()}
    _check_families(loaded)
    return loaded


def load_file(path: Path, overrides: dict | None = None, others: dict[str, tuple[Path, dict]] | None = None) -> RuleSet:
    """One rule set file (with the files it is `based_on` in `others`), checked."""
    path = Path(path)
    data = read_yaml(path)
    raw = dict(others or {})
    raw[data.get("code")] = (path, data)
    return _Parser(path, _merged(data.get("code"), raw), overrides or {}, _metric_units()).rule_set()


def _merged(code: str, raw: dict[str, tuple[Path, dict]], seen: tuple[str, ...] = ()) -> dict:
    """The file's data with what it inherits from `based_on` (and that file's base …).

    The base's sources, parameters, figures and judgements are kept unless the file names the
    same key; its criteria are kept unless the file has its own.
    """
    path, data = raw[code]
    base_code = data.get("based_on")
    if not base_code:
        return data
    if base_code in seen or base_code == code:
        raise RuleSetError(path, "based_on", f"{' → '.join((*seen, code, base_code))} goes round in a circle")
    if base_code not in raw:
        raise RuleSetError(path, "based_on", f"no rule set has the code {base_code}")
    base = copy.deepcopy(_merged(base_code, raw, (*seen, code)))
    merged = {key: value for key, value in base.items()
              if key in ("sources", "parameters", "figures", "judgements", "criteria")}
    for key, value in data.items():
        if key in ("sources", "parameters", "figures", "judgements") and isinstance(value, dict):
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


def _metric_units() -> dict[str, str]:
    """The shipped metrics' unit kinds, by code (a bureau's own metrics are checked when screening)."""
    entries = yaml.safe_load(METRICS_CATALOGUE.read_text(encoding="utf-8")) or []
    return {entry["code"]: entry["unit_kind"] for entry in entries}


def _check_families(loaded: dict[str, RuleSet]) -> None:
    """Within a family, the versions follow one another: never two in force on one day."""
    families: dict[str, list[RuleSet]] = {}
    for rule_set in loaded.values():
        families.setdefault(rule_set.family, []).append(rule_set)
    for versions in families.values():
        versions.sort(key=lambda r: r.effective_from)
        for earlier, later in zip(versions, versions[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to > later.effective_from:
                until = earlier.effective_to.isoformat() if earlier.effective_to else "open-ended"
                raise RuleSetError(later.file, "effective_from",
                                   f"{later.code} (from {later.effective_from}) overlaps {earlier.code} in "
                                   f"{earlier.file.name} (from {earlier.effective_from}, until {until}); "
                                   f"end {earlier.code} with effective_to: {later.effective_from}")


# --- one file ----------------------------------------------------------------------------------


class _Parser:
    """Builds one RuleSet from its (merged) YAML data, refusing anything inconsistent."""

    def __init__(self, path: Path, data: dict, overrides: dict, catalogue: dict[str, str]):
        self.path, self.data, self.overrides, self.catalogue = path, data, overrides, catalogue
        self.sources: dict[str, Source] = {}
        self.parameters: dict[str, Parameter] = {}
        self.figures: dict[str, Figure] = {}
        self.judgements: dict[str, Judgement] = {}
        # The parameters and unverified parts met while reading the current element.
        self._collectors: list[list[Note]] = []
        self._unverified: list[bool] = []

    def error(self, where: str, message: str) -> RuleSetError:
        return RuleSetError(self.path, where, message)

    # The whole file

    def rule_set(self) -> RuleSet:
        data = self.data
        code = self.text(data, "code", "")
        known = {"code", "family", "grants", "rule_version", "name_zh", "name_en", "effective_from", "effective_to",
                 "effective_verified", "effective_note_zh", "effective_note_en", "caveat_zh", "caveat_en",
                 "based_on", "sources", "parameters", "figures", "judgements", "criteria"}
        self.no_unknown_keys(data, known, "")
        grants = self.text(data, "grants", "")
        if grants not in DESIGNATION_TYPES:
            raise self.error("grants", f"{grants!r} is not a designation type; the types are "
                                       f"{', '.join(DESIGNATION_TYPES)}")
        effective_from = self.date(data, "effective_from", required=True)
        effective_to = self.date(data, "effective_to")
        if effective_to is not None and effective_to <= effective_from:
            raise self.error("effective_to", f"{effective_to} is not after effective_from {effective_from}")
        self.read_sources()
        self.read_parameters()
        self.read_figures()
        self.read_judgements()
        criteria = data.get("criteria")
        if not isinstance(criteria, list) or not criteria:
            raise self.error("criteria", "a rule set has a list of criteria")
        parsed = tuple(self.criterion(entry, f"criteria[{index + 1}]") for index, entry in enumerate(criteria))
        self.unique_codes(parsed)
        effective_note = None
        if data.get("effective_note_zh") or data.get("effective_note_en"):
            effective_note = Note(self.text(data, "effective_note_zh", ""), self.text(data, "effective_note_en", ""))
        caveat = None
        if data.get("caveat_zh") or data.get("caveat_en"):
            caveat = Note(self.text(data, "caveat_zh", ""), self.text(data, "caveat_en", ""))
        return RuleSet(
            code=code, family=self.text(data, "family", ""), grants=grants,
            name_zh=self.text(data, "name_zh", ""), name_en=self.text(data, "name_en", ""),
            effective_from=effective_from, effective_to=effective_to, file=self.path,
            rule_version=str(data.get("rule_version") or ""), based_on=str(data.get("based_on") or ""),
            effective_verified=bool(data.get("effective_verified", True)), effective_note=effective_note, caveat=caveat,
            sources=self.sources, parameters=self.parameters, figures=self.figures, judgements=self.judgements,
            criteria=parsed,
        )

    def unique_codes(self, criteria: tuple[Criterion, ...]) -> None:
        seen: set[str] = set()
        for top in criteria:
            for criterion in top.walk():
                if criterion.code in seen:
                    raise self.error(f"criteria[{criterion.code}]", "two criteria have this code; codes are unique")
                seen.add(criterion.code)

    # Small readers

    def no_unknown_keys(self, mapping: dict, known: set[str], where: str) -> None:
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise self.error(where or "top level", f"unknown key{'s' if len(unknown) > 1 else ''} "
                                                   f"{', '.join(map(str, unknown))}; expected {', '.join(sorted(known))}")

    def mapping(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, found {value!r}")
        return value

    def text(self, mapping: dict, key: str, where: str, required: bool = True) -> str:
        value = mapping.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(f"{where}.{key}" if where else key, "is required")
            return ""
        if not isinstance(value, str):
            raise self.error(f"{where}.{key}" if where else key, f"expected text, found {value!r}")
        return value.strip()

    def date(self, mapping: dict, key: str, required: bool = False) -> dt.date | None:
        value = mapping.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required (YYYY-MM-DD)")
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise self.error(key, f"expected a date YYYY-MM-DD, found {value!r}")
        return value

    def integer(self, value, where: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(where, f"expected a whole number of at least {minimum}, found {value!r}")
        return value

    def notes_of(self, mapping: dict) -> tuple[bool, tuple[Note, ...]]:
        """An element's own `verified` flag and note."""
        verified = mapping.get("verified", True)
        if not isinstance(verified, bool):
            raise self.error("verified", f"expected true or false, found {verified!r}")
        note_zh, note_en = mapping.get("note_zh") or "", mapping.get("note_en") or ""
        return verified, ((Note(str(note_zh), str(note_en)),) if note_zh or note_en else ())

    def citation(self, mapping: dict, where: str) -> Citation | None:
        key = mapping.get("source")
        if key is None:
            return None
        if key not in self.sources:
            raise self.error(f"{where}.source", f"{key!r} is not one of the file's sources "
                                                f"({', '.join(self.sources) or 'none'})")
        return Citation(self.sources[key], str(mapping.get("clause") or ""))

    # Parameters: {param: name} may stand wherever a value is expected.

    def value(self, node, where: str):
        """`node`, or the value of the parameter it names; the parameter's verification is
        recorded for the element being read."""
        if isinstance(node, dict) and set(node) == {"param"}:
            name = node["param"]
            parameter = self.parameters.get(name)
            if parameter is None:
                raise self.error(where, f"no parameter is named {name!r}; the parameters are "
                                        f"{', '.join(self.parameters) or 'none'}")
            if self._collectors:
                if parameter.note is not None and parameter.note not in self._collectors[-1]:
                    self._collectors[-1].append(parameter.note)
                if not parameter.verified:
                    self._unverified[-1] = True
            return parameter.value
        return node

    def begin(self, verified: bool = True, notes: tuple[Note, ...] = ()) -> None:
        self._collectors.append(list(notes))
        self._unverified.append(not verified)

    def absorb(self, verified: bool, notes: tuple[Note, ...]) -> None:
        """A part used by the element being read (a figure, a table) brings its own verification."""
        for note in notes:
            if note not in self._collectors[-1]:
                self._collectors[-1].append(note)
        if not verified:
            self._unverified[-1] = True

    def end(self) -> tuple[bool, tuple[Note, ...]]:
        return not self._unverified.pop(), tuple(self._collectors.pop())

    def quantity(self, node, unit: str, where: str) -> Decimal:
        """A number in `unit`: 5, 4.99, "5%", "5000万元" (money is stored in yuan)."""
        node = self.value(node, where)
        if isinstance(node, bool) or node is None:
            raise self.error(where, f"expected a number, found {node!r}")
        if isinstance(node, (int, Decimal)):
            return Decimal(node)
        if not isinstance(node, str):
            raise self.error(where, f"expected a number, found {node!r}")
        try:
            number, written = parse_number(node)
        except NumberError as error:
            raise self.error(where, str(error)) from None
        if written == "":
            return number
        found = find_unit(written)
        fits = {"money": found.kind == "money", "percent": found.kind == "percent", "count": found.kind == "count",
                "years": found.name == "年", "points": found.name == "分", "number": False}[unit]
        if not fits:
            raise self.error(where, f"{node!r} is not in {unit}" + (
                " (money: 元, 万元 or 亿元)" if unit == "money" else ""))
        try:
            return to_base(number, written)[0]
        except UnitError as error:
            raise self.error(where, str(error)) from None

    def points(self, node, where: str) -> tuple[Decimal, Decimal]:
        """Points: a number, or [low, high] where the experts pick within the range."""
        node = self.value(node, where)
        if isinstance(node, list):
            if len(node) != 2:
                raise self.error(where, f"a range of points is [low, high], found {node!r}")
            low, high = (self.quantity(part, "points", where) for part in node)
            if low > high:
                raise self.error(where, f"the range {low}–{high} runs backwards")
            return low, high
        number = self.quantity(node, "points", where)
        return number, number

    # Sections

    def read_sources(self) -> None:
        for key, entry in self.mapping(self.data.get("sources") or {}, "sources").items():
            entry = self.mapping(entry, f"sources.{key}")
            self.no_unknown_keys(entry, {"title", "url", "note"}, f"sources.{key}")
            self.sources[key] = Source(key, self.text(entry, "title", f"sources.{key}"), str(entry.get("url") or ""),
                                       str(entry.get("note") or ""))
        if not self.sources:
            raise self.error("sources", "a rule set names the documents it rests on")

    def read_parameters(self) -> None:
        entries = self.mapping(self.data.get("parameters") or {}, "parameters")
        for name in self.overrides:
            if name not in entries:
                raise RuleSetError("settings.ELIGIBILITY_PARAMETERS", f"{self.data.get('code')}.{name}",
                                   f"{self.path.name} has no parameter {name!r}; its parameters are "
                                   f"{', '.join(entries) or 'none'}")
        for name, entry in entries.items():
            where = f"parameters.{name}"
            entry = self.mapping(entry, where)
            self.no_unknown_keys(entry, {"value", "source", "clause", "verified", "note_zh", "note_en"}, where)
            if "value" not in entry:
                raise self.error(where, "a parameter has a value")
            verified, notes = self.notes_of(entry)
            value, overridden = entry["value"], name in self.overrides
            if overridden:
                value = _plain_yaml(self.overrides[name])
                notes = (*notes, Note(f"参数{name}已由部署设置覆盖", f"parameter {name} is overridden by the deployment's "
                                                                    "settings"))
            note = Note("；".join(n.zh for n in notes if n.zh), "; ".join(n.en for n in notes if n.en)) if notes else None
            self.parameters[name] = Parameter(name, value, self.citation(entry, where), verified, note, overridden)

    def read_figures(self) -> None:
        entries = self.mapping(self.data.get("figures") or {}, "figures")
        for name in entries:
            if not formulas.CODE.match(str(name)):
                raise self.error(f"figures.{name}", "a figure's name is lower case letters, digits and _ "
                                                    "(formulas name it)")
        building: set[str] = set()

        def build(name: str, trail: tuple[str, ...]) -> Figure:
            if name in self.figures:
                return self.figures[name]
            if name in building:
                raise self.error(f"figures.{name}", f"{' → '.join((*trail, name))} refers back to itself")
            if name not in entries:
                raise self.error(f"figures.{trail[-1]}" if trail else "figures",
                                 f"no figure is named {name!r}")
            building.add(name)
            self.figures[name] = self.figure(name, self.mapping(entries[name], f"figures.{name}"),
                                             lambda other: build(other, (*trail, name)))
            building.discard(name)
            return self.figures[name]

        for name in entries:
            build(name, ())

    def figure(self, name: str, entry: dict, resolve) -> Figure:
        where = f"figures.{name}"
        self.no_unknown_keys(entry, {"name_zh", "name_en", "unit", "metric", "years", "combine", "formula", "growth",
                                     "average", "registry", "verified", "note_zh", "note_en"}, where)
        kinds = [key for key in ("metric", "formula", "growth", "registry") if key in entry]
        if len(kinds) != 1:
            raise self.error(where, "a figure is exactly one of metric, formula, growth or registry")
        kind = kinds[0]
        unit = self.text(entry, "unit", where)
        if unit not in UNITS:
            raise self.error(f"{where}.unit", f"{unit!r} is not one of {', '.join(UNITS)}")
        verified, notes = self.notes_of(entry)
        self.begin(verified, notes)
        common = {"code": name, "name_zh": self.text(entry, "name_zh", where),
                  "name_en": self.text(entry, "name_en", where), "unit": unit, "kind": kind}
        if kind == "metric":
            metric = self.text(entry, "metric", where)
            if metric in self.catalogue and self.catalogue[metric] not in _METRIC_UNIT_KINDS[unit]:
                raise self.error(f"{where}.unit", f"metric {metric} is measured as {self.catalogue[metric]}, "
                                                  f"not {unit}")
            years = self.integer(self.value(entry.get("years", 1), f"{where}.years"), f"{where}.years")
            combine = entry.get("combine", "sum")
            if combine not in ("sum", "mean"):
                raise self.error(f"{where}.combine", f"{combine!r} is not sum or mean")
            verified, notes = self.end()
            return Figure(**common, metric=metric, years=years, combine=combine,
                          metric_offsets=frozenset((metric, offset) for offset in range(years)),
                          verified=verified, notes=notes)
        if kind == "formula":
            text = self.text(entry, "formula", where)
            try:
                node = formulas.parse(text)
            except formulas.FormulaError as error:
                raise self.error(f"{where}.formula", f"{text!r}: {error}") from None
            offsets, founded, depends = set(), False, set()
            for code, period in formulas.needs(node, Period.of_year(_REFERENCE_YEAR)):
                other = resolve(code)
                self.absorb(other.verified, other.notes)
                shift = _REFERENCE_YEAR - period.year
                offsets |= {(metric, offset + shift) for metric, offset in other.metric_offsets}
                founded = founded or other.uses_founded
                depends |= {code, *other.depends_on}
            verified, notes = self.end()
            return Figure(**common, formula=text, node=node, metric_offsets=frozenset(offsets), uses_founded=founded,
                          depends_on=frozenset(depends), verified=verified, notes=notes)
        if kind == "growth":
            of = resolve(self.text(entry, "growth", where))
            self.absorb(of.verified, of.notes)
            years = self.integer(self.value(entry.get("years", 1), f"{where}.years"), f"{where}.years")
            average = entry.get("average", "arithmetic")
            if average not in ("arithmetic", "compound"):
                raise self.error(f"{where}.average", f"{average!r} is not arithmetic or compound")
            if unit != "percent":
                raise self.error(f"{where}.unit", "a growth rate is in percent")
            offsets = {(metric, offset + shift) for metric, offset in of.metric_offsets for shift in range(years + 1)}
            verified, notes = self.end()
            return Figure(**common, growth_of=of.code, years=years, average=average, metric_offsets=frozenset(offsets),
                          uses_founded=of.uses_founded, depends_on=frozenset({of.code, *of.depends_on}),
                          verified=verified, notes=notes)
        registry = self.text(entry, "registry", where)
        if registry != "years-since-founded":
            raise self.error(f"{where}.registry", f"{registry!r}: the registry fact known is years-since-founded")
        if unit != "years":
            raise self.error(f"{where}.unit", "years-since-founded is in years")
        verified, notes = self.end()
        return Figure(**common, registry=registry, uses_founded=True, verified=verified, notes=notes)

    def read_judgements(self) -> None:
        for code, entry in self.mapping(self.data.get("judgements") or {}, "judgements").items():
            where = f"judgements.{code}"
            entry = self.mapping(entry, where)
            self.no_unknown_keys(entry, {"name_zh", "name_en", "kind", "max", "options", "source", "clause"}, where)
            kind = entry.get("kind")
            common = {"code": code, "name_zh": self.text(entry, "name_zh", where),
                      "name_en": self.text(entry, "name_en", where), "kind": kind,
                      "citation": self.citation(entry, where)}
            if kind == "yes-no":
                self.judgements[code] = Judgement(**common)
            elif kind == "points":
                maximum = self.quantity(entry.get("max"), "points", f"{where}.max")
                if maximum <= 0:
                    raise self.error(f"{where}.max", "a judgement gives at most a positive number of points")
                self.judgements[code] = Judgement(**common, maximum=maximum)
            elif kind == "choice":
                options = entry.get("options")
                if not isinstance(options, list) or len(options) < 2:
                    raise self.error(f"{where}.options", "a choice has two options or more")
                parsed = []
                for index, option in enumerate(options, start=1):
                    option_where = f"{where}.options[{index}]"
                    option = self.mapping(option, option_where)
                    self.no_unknown_keys(option, {"code", "name_zh", "name_en", "points"}, option_where)
                    parsed.append(Option(self.text(option, "code", option_where),
                                         self.text(option, "name_zh", option_where),
                                         self.text(option, "name_en", option_where),
                                         self.points(option.get("points"), f"{option_where}.points")))
                if len({option.code for option in parsed}) != len(parsed):
                    raise self.error(f"{where}.options", "two options have the same code")
                self.judgements[code] = Judgement(**common, options=tuple(parsed))
            else:
                raise self.error(f"{where}.kind", f"{kind!r} is not one of yes-no, points, choice")

    # Criteria

    def criterion(self, entry, where: str) -> Criterion:
        entry = self.mapping(entry, where)
        code = entry.get("code")
        if isinstance(code, str) and code:
            where = f"criteria[{code}]"
        known = {"code", "name_zh", "name_en", "source", "clause", "verified", "note_zh", "note_en", "applies",
                 "figure", "each_year", "remedy", *OPERATORS, "holds", "judgement", "score", "all", "any", "bracket"}
        self.no_unknown_keys(entry, known, where)
        kinds = [key for key in _CRITERION_KINDS if key in entry]
        if len(kinds) != 1:
            raise self.error(where, "a criterion is exactly one of: figure (with at_least, above, at_most or below), "
                                    "holds, judgement, score, all, any, bracket")
        verified, notes = self.notes_of(entry)
        self.begin(verified, notes)
        applies = self.value(entry.get("applies", True), f"{where}.applies")
        if not isinstance(applies, bool):
            raise self.error(f"{where}.applies", f"expected true or false, found {applies!r}")
        common = {"code": self.text(entry, "code", where), "name_zh": self.text(entry, "name_zh", where),
                  "name_en": self.text(entry, "name_en", where), "citation": self.citation(entry, where),
                  "applies": applies}
        kind = kinds[0]
        if kind == "figure":
            fields = self.comparison(entry, where)
        elif kind == "holds":
            types = self.value(entry["holds"], f"{where}.holds")
            if isinstance(types, str):
                types = [types]
            if not isinstance(types, list) or not types or any(t not in DESIGNATION_TYPES for t in types):
                raise self.error(f"{where}.holds", f"expected designation types among {', '.join(DESIGNATION_TYPES)}, "
                                                   f"found {types!r}")
            fields = {"kind": "holds", "types": tuple(types)}
        elif kind == "judgement":
            judgement = self.judgements.get(entry["judgement"])
            if judgement is None or judgement.kind != "yes-no":
                raise self.error(f"{where}.judgement", f"{entry['judgement']!r} is not a yes-no judgement of the file")
            fields = {"kind": "judgement", "judgement": judgement}
        elif kind == "score":
            fields = {"kind": "score", "score": self.score(self.mapping(entry["score"], f"{where}.score"),
                                                           f"{where}.score")}
        elif kind in ("all", "any"):
            children = entry[kind]
            if not isinstance(children, list) or not children:
                raise self.error(f"{where}.{kind}", "expected a list of criteria")
            verified, notes = self.end()
            parsed = tuple(self.criterion(child, f"{where}.{kind}[{index}]")
                           for index, child in enumerate(children, start=1))
            return Criterion(**common, kind=kind, children=parsed, verified=verified, notes=notes)
        else:
            fields = {"kind": "bracket", "bracket": self.bracket(entry["bracket"], f"{where}.bracket", criteria=True)}
        verified, notes = self.end()
        return Criterion(**common, **fields, verified=verified, notes=notes)

    def comparison(self, entry: dict, where: str) -> dict:
        figure = self.figures.get(entry["figure"])
        if figure is None:
            raise self.error(f"{where}.figure", f"no figure is named {entry['figure']!r}")
        self.absorb(figure.verified, figure.notes)
        operators = [key for key in OPERATORS if key in entry]
        if len(operators) != 1:
            raise self.error(where, "a comparison has exactly one of at_least, above, at_most, below")
        operator = operators[0]
        node = self.value(entry[operator], f"{where}.{operator}")
        threshold, bracket = None, None
        if isinstance(node, dict) and set(node) == {"bracket"}:
            bracket = self.bracket(node["bracket"], f"{where}.{operator}.bracket", threshold_unit=figure.unit)
        else:
            threshold = self.quantity(node, figure.unit, f"{where}.{operator}")
        each_year = self.integer(self.value(entry.get("each_year", 1), f"{where}.each_year"), f"{where}.each_year")
        remedy = None
        if "remedy" in entry:
            spec = self.mapping(entry["remedy"], f"{where}.remedy")
            self.no_unknown_keys(spec, {"figure", "also", "name_zh", "name_en"}, f"{where}.remedy")
            target = self.figures.get(spec.get("figure"))
            if target is None:
                raise self.error(f"{where}.remedy.figure", f"no figure is named {spec.get('figure')!r}")
            if target.code != figure.code and target.code not in figure.depends_on:
                raise self.error(f"{where}.remedy.figure", f"{target.code} is not one of the figures {figure.code} "
                                                           "is computed from, so changing it cannot change the result")
            also = spec.get("also") or []
            if not isinstance(also, list) or any(name not in self.figures for name in also):
                raise self.error(f"{where}.remedy.also", f"expected a list of the file's figures, found {also!r}")
            remedy = Remedy(target, self.text(spec, "name_zh", f"{where}.remedy"),
                            self.text(spec, "name_en", f"{where}.remedy"), tuple(self.figures[name] for name in also))
        return {"kind": "compare", "figure": figure, "operator": operator, "threshold": threshold, "bracket": bracket,
                "each_year": each_year, "remedy": remedy}

    def score(self, entry: dict, where: str) -> Score:
        self.no_unknown_keys(entry, {"items", "groups", *OPERATORS}, where)
        operators = [key for key in OPERATORS if key in entry]
        if len(operators) != 1 or operators[0] not in ("at_least", "above"):
            raise self.error(where, "a score passes with at_least or above a number of points")
        threshold = self.quantity(entry[operators[0]], "points", f"{where}.{operators[0]}")
        groups = []
        for index, group in enumerate(entry.get("groups") or [], start=1):
            group_where = f"{where}.groups[{index}]"
            group = self.mapping(group, group_where)
            self.no_unknown_keys(group, {"code", "name_zh", "name_en", "max", "at_least"}, group_where)
            minimum = group.get("at_least")
            groups.append(ScoreGroup(self.text(group, "code", group_where), self.text(group, "name_zh", group_where),
                                     self.text(group, "name_en", group_where),
                                     self.quantity(group.get("max"), "points", f"{group_where}.max"),
                                     None if minimum is None else self.quantity(minimum, "points",
                                                                                f"{group_where}.at_least")))
        group_codes = {group.code for group in groups}
        items = entry.get("items")
        if not isinstance(items, list) or not items:
            raise self.error(f"{where}.items", "a score has a list of items")
        parsed = []
        for index, item in enumerate(items, start=1):
            item = self.mapping(item, f"{where}.items[{index}]")
            item_where = f"{where}.items[{item.get('code') or index}]"
            parsed.append(self.item(item, item_where, group_codes))
            self.absorb(parsed[-1].verified, parsed[-1].notes)
        if len({item.code for item in parsed}) != len(parsed):
            raise self.error(f"{where}.items", "two items have the same code")
        return Score(tuple(parsed), tuple(groups), operators[0], threshold)

    def item(self, entry: dict, where: str, groups: set[str]) -> ScoreItem:
        self.no_unknown_keys(entry, {"code", "name_zh", "name_en", "group", "max", "figure", "bands", "edges",
                                     "judgement", "best_of", "verified", "note_zh", "note_en"}, where)
        group = str(entry.get("group") or "")
        if groups and group not in groups:
            raise self.error(f"{where}.group", f"{group!r} is not one of the score's groups ({', '.join(sorted(groups))})")
        verified, notes = self.notes_of(entry)
        self.begin(verified, notes)
        maximum = self.quantity(entry.get("max"), "points", f"{where}.max")
        ways = entry["best_of"] if "best_of" in entry else [entry]
        if not isinstance(ways, list) or not ways:
            raise self.error(f"{where}.best_of", "expected a list of ways to score the item")
        alternatives = []
        for index, way in enumerate(ways, start=1):
            way_where = f"{where}.best_of[{index}]" if "best_of" in entry else where
            way = self.mapping(way, way_where)
            if "best_of" in entry:
                self.no_unknown_keys(way, {"figure", "bands", "edges", "judgement"}, way_where)
            alternatives.append(self.alternative(way, way_where, maximum))
        verified, notes = self.end()
        return ScoreItem(self.text(entry, "code", where), self.text(entry, "name_zh", where),
                         self.text(entry, "name_en", where), group, maximum, tuple(alternatives), verified, notes)

    def alternative(self, way: dict, where: str, maximum: Decimal) -> Alternative:
        if ("figure" in way) == ("judgement" in way):
            raise self.error(where, "an item is scored from a figure (with bands) or from a judgement")
        if "judgement" in way:
            judgement = self.judgements.get(way["judgement"])
            if judgement is None or judgement.kind == "yes-no":
                raise self.error(f"{where}.judgement", f"{way['judgement']!r} is not a points or choice judgement "
                                                       "of the file")
            if judgement.points_range[1] > maximum:
                raise self.error(f"{where}.judgement", f"{judgement.code} can give {judgement.points_range[1]} "
                                                       f"points; the item is worth at most {maximum}")
            return Alternative(judgement=judgement)
        figure = self.figures.get(way["figure"])
        if figure is None:
            raise self.error(f"{where}.figure", f"no figure is named {way['figure']!r}")
        self.absorb(figure.verified, figure.notes)
        table = self.table(way.get("bands"), way.get("edges", "lower-inclusive"), f"{where}.bands", figure.unit,
                           points=True)
        self.absorb(table.verified, table.notes)
        for band in table.bands:
            if band.points[1] > maximum:
                raise self.error(f"{where}.bands", f"row {band.row} gives {band.points[1]} points; the item is worth "
                                                   f"at most {maximum}")
        return Alternative(figure=figure, table=table)

    def bracket(self, node, where: str, threshold_unit: str | None = None, criteria: bool = False) -> Table:
        node = self.mapping(node, where)
        self.no_unknown_keys(node, {"by", "edges", "rows"}, where)
        by = self.figures.get(node.get("by"))
        if by is None:
            raise self.error(f"{where}.by", f"no figure is named {node.get('by')!r}")
        self.absorb(by.verified, by.notes)
        table = self.table(node.get("rows"), node.get("edges", "lower-inclusive"), f"{where}.rows", by.unit,
                           threshold_unit=threshold_unit, criteria=criteria)
        self.absorb(table.verified, table.notes)
        return Table(table.where, table.bands, table.unit, by, table.verified, table.notes)

    def table(self, rows, edges, where: str, unit: str, points: bool = False, threshold_unit: str | None = None,
              criteria: bool = False) -> Table:
        """Bands that cover every value exactly once, or RuleSetError naming the rows at fault."""
        self.begin()
        rows = self.value(rows, where)
        edges = self.value(edges, where.rsplit(".", 1)[0] + ".edges")
        if edges not in _EDGES or (edges == "higher-points" and not points):
            allowed = _EDGES if points else _EDGES[:2]
            raise self.error(where.rsplit(".", 1)[0] + ".edges", f"{edges!r} is not one of {', '.join(allowed)}")
        if not isinstance(rows, list) or not rows:
            raise self.error(where, "expected a list of rows")
        drafts = []
        for number, row in enumerate(rows, start=1):
            row_where = f"{where}[{number}]"
            row = self.mapping(row, row_where)
            payload = "points" if points else ("criteria" if criteria else "threshold")
            self.no_unknown_keys(row, {"from", "to", "from_inclusive", "to_inclusive", payload}, row_where)
            if payload not in row:
                raise self.error(row_where, f"a row has {payload}")
            lower = None if row.get("from") is None else self.quantity(row["from"], unit, f"{row_where}.from")
            upper = None if row.get("to") is None else self.quantity(row["to"], unit, f"{row_where}.to")
            for key in ("from_inclusive", "to_inclusive"):
                if key in row and not isinstance(row[key], bool):
                    raise self.error(f"{row_where}.{key}", f"expected true or false, found {row[key]!r}")
            draft = {"row": number, "lower": lower, "upper": upper, "lower_inclusive": row.get("from_inclusive"),
                     "upper_inclusive": row.get("to_inclusive")}
            if points:
                draft["points"] = self.points(row["points"], f"{row_where}.points")
            elif criteria:
                children = row["criteria"]
                if not isinstance(children, list) or not children:
                    raise self.error(f"{row_where}.criteria", "expected a list of criteria")
                draft["criteria"] = tuple(self.criterion(child, f"{row_where}.criteria[{index}]")
                                          for index, child in enumerate(children, start=1))
            else:
                draft["threshold"] = self.quantity(row["threshold"], threshold_unit, f"{row_where}.threshold")
            drafts.append(draft)
        bands = _resolve_edges(drafts, edges)
        self.check_coverage(bands, where, unit)
        verified, notes = self.end()
        return Table(where, tuple(bands), unit, verified=verified, notes=notes)

    def check_coverage(self, bands: list[Band], where: str, unit: str) -> None:
        """Every value on exactly one row: ordered by their lower bound, each row ends where the
        next begins, the edge on exactly one side; the first row is open below, the last above."""
        show = lambda value: _shown(value, unit)  # noqa: E731
        for band in bands:
            if band.lower is not None and band.upper is not None and (
                    band.lower > band.upper or (band.lower == band.upper and not (band.lower_inclusive
                                                                                and band.upper_inclusive))):
                raise self.error(where, f"row {band.row}: from {show(band.lower)} to {show(band.upper)} holds no value")
        ordered = sorted(bands, key=lambda b: (b.lower is not None, b.lower if b.lower is not None else 0,
                                               not b.lower_inclusive))
        if ordered[0].lower is not None:
            raise self.error(where, f"a gap: no row holds values below {show(ordered[0].lower)} (row "
                                    f"{ordered[0].row} starts there); give the first row no 'from'")
        for before, after in zip(ordered, ordered[1:], strict=False):
            rows = "rows {} and {}".format(*sorted((before.row, after.row)))
            if after.lower is None:
                ends = [band.upper for band in (before, after) if band.upper is not None]
                held = f"below {show(min(ends))}" if ends else "of every size"
                raise self.error(where, f"{rows} overlap: both hold values {held} (neither has a 'from')")
            if before.upper is None:
                raise self.error(where, f"{rows} overlap: both hold values from {show(after.lower)} up "
                                        f"(row {before.row} has no 'to')")
            if before.upper > after.lower:
                raise self.error(where, f"{rows} overlap between {show(after.lower)} and "
                                        f"{show(min(before.upper, after.upper) if after.upper is not None else before.upper)}")
            if before.upper < after.lower:
                raise self.error(where, f"a gap between {rows}: no row holds values between {show(before.upper)} "
                                        f"and {show(after.lower)}")
            if before.upper_inclusive and after.lower_inclusive:
                raise self.error(where, f"{rows} overlap at {show(after.lower)}: both include it")
            if not before.upper_inclusive and not after.lower_inclusive:
                raise self.error(where, f"a gap between {rows}: neither holds {show(after.lower)} itself")
        if ordered[-1].upper is not None:
            raise self.error(where, f"a gap: no row holds values above {show(ordered[-1].upper)} (row "
                                    f"{ordered[-1].row} ends there); give the last row no 'to'")


def _resolve_edges(drafts: list[dict], edges: str) -> list[Band]:
    """Fill in which side of each edge holds the edge value, where the row does not say.

    lower-inclusive: [from, to). upper-inclusive: (from, to]. higher-points: a value on an edge
    shared by two rows goes to the row worth more points (the reading of 以上/以下 in public
    implementations of the 63号文 annex); a row's own from_inclusive/to_inclusive always wins.
    """
    for draft in drafts:
        default_lower, default_upper = (True, False) if edges != "upper-inclusive" else (False, True)
        if draft["lower_inclusive"] is None:
            draft["lower_inclusive"] = default_lower if draft["lower"] is not None else True
        else:
            draft["explicit_lower"] = True
        if draft["upper_inclusive"] is None:
            draft["upper_inclusive"] = default_upper if draft["upper"] is not None else True
        else:
            draft["explicit_upper"] = True
    if edges == "higher-points":
        for draft in drafts:
            for other in drafts:
                if other is draft or draft["upper"] is None or other["lower"] != draft["upper"]:
                    continue
                if draft.get("explicit_upper") or other.get("explicit_lower"):
                    continue
                upper_gets_it = other["points"] > draft["points"]
                draft["upper_inclusive"], other["lower_inclusive"] = not upper_gets_it, upper_gets_it
    return [Band(row=d["row"], lower=d["lower"], lower_inclusive=d["lower_inclusive"], upper=d["upper"],
                 upper_inclusive=d["upper_inclusive"], points=d.get("points"), threshold=d.get("threshold"),
                 criteria=d.get("criteria", ())) for d in drafts]


def _shown(value: Decimal, unit: str) -> str:
    return quantity(value, unit, "en")


def _plain_yaml(value):
    """A settings override as the YAML would give it: floats through their text, to Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_plain_yaml(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_yaml(v) for k, v in value.items()}
    return value
