"""The web forms of the statistics: one subject's figures for a period, an upload, the
filters of the approval queue and of the locks, and the bureau's decisions.

The forms read and check what was typed (numbers, units, periods) and say what is wrong
in the page's language; the services (services.py) then apply the rules again and write.
"""

from decimal import Decimal

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kechuang.web import language

from . import rules
from .models import ObservationKind, ObservationStatus, UnitKind
from .periods import Period, PeriodError
from .units import NumberError, UnitError, find_unit, parse_number, to_base

#: The units a money figure may be typed in; 万元 first, as Chinese statistical forms ask.
MONEY_UNITS = ("万元", "元", "亿元")
UNIT_LABELS = {
    "万元": pgettext_lazy("statistics", "10,000 yuan (万元)"),
    "元": pgettext_lazy("statistics", "yuan (元)"),
    "亿元": pgettext_lazy("statistics", "100 million yuan (亿元)"),
    "persons": pgettext_lazy("statistics", "persons"),
    "items": pgettext_lazy("statistics", "items"),
    "%": "%",
    "rank": pgettext_lazy("statistics", "rank"),
    "years": pgettext_lazy("statistics", "years"),
    "points": pgettext_lazy("statistics", "points"),
    "yuan": pgettext_lazy("statistics", "yuan (元)"),
}
STATUS_LABELS = {
    ObservationStatus.DRAFT: pgettext_lazy("statistics", "Draft"),
    ObservationStatus.SUBMITTED: pgettext_lazy("statistics", "Submitted"),
    ObservationStatus.RETURNED: pgettext_lazy("statistics", "Returned for correction"),
    ObservationStatus.APPROVED: pgettext_lazy("statistics", "Approved"),
    ObservationStatus.PUBLISHED: pgettext_lazy("statistics", "Published"),
}
KIND_LABELS = {
    ObservationKind.ACTUAL: pgettext_lazy("statistics", "Actual"),
    ObservationKind.ESTIMATE: pgettext_lazy("statistics", "Estimate"),
    ObservationKind.TARGET: pgettext_lazy("statistics", "Target"),
}


def unit_label(unit: str) -> str:
    return str(UNIT_LABELS.get(unit, unit))


def period_error(text: str) -> str:
    return gettext(
        "“%(text)s” is not a period: write a code such as 2023H1, 2023Q3, 2023-07 or 2023, "
        "or a phrase such as 2023年上半年 or 2023年1-5月."
    ) % {"text": text}


def parse_period(text: str) -> Period:
    """A period from a form or the URL; forms.ValidationError in the page's language."""
    try:
        return Period.parse(text)
    except PeriodError:
        raise forms.ValidationError(period_error(text)) from None


class PeriodField(forms.CharField):
    """A period as a code or a Chinese phrase; cleans to a Period (None when empty)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        return parse_period(text) if text else None


# --- one subject's figures for a period --------------------------------------------------


class FiguresForm(forms.Form):
    """Every metric that applies to the subject: a value and its unit each.

    `rows` are the page's rows (views.ReportRow): the metric, the current figure (or None)
    and why it cannot be changed here (or ""). A row that cannot be changed has disabled
    inputs, so what the browser sends for it is ignored. Each row also carries the id of the
    figure the user saw (`seen_<code>`): when another figure became current meanwhile, the
    change is refused as a conflict instead of overwriting it unseen.
    """

    def __init__(self, *args, rows, values_in_base: dict[str, Decimal], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.stored = values_in_base
        for row in rows:
            metric, figure = row.metric, row.figure
            value_field = forms.CharField(
                label=row.name,
                required=False,
                max_length=60,
                disabled=bool(row.locked_because),
                initial=_initial_value(figure),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 14}),
            )
            self.fields[f"value_{metric.code}"] = value_field
            if row.units:
                self.fields[f"unit_{metric.code}"] = forms.ChoiceField(
                    label=gettext("Unit of %(metric)s") % {"metric": row.name},
                    required=False,
                    choices=[(unit, unit_label(unit)) for unit in row.units],
                    disabled=bool(row.locked_because),
                    initial=_initial_unit(figure, row.units),
                )
            self.fields[f"seen_{metric.code}"] = forms.IntegerField(
                required=False, widget=forms.HiddenInput, initial=figure.pk if figure else None
            )
            row.value_field = f"value_{metric.code}"
            row.unit_field = f"unit_{metric.code}" if row.units else None
            row.seen_field = f"seen_{metric.code}"

    def clean(self):
        data = super().clean()
        self.changes = []  # (row, entered value, unit or None, value in the base unit)
        values = dict(self.stored)
        for row in self.rows:
            if row.locked_because:
                continue
            text = (data.get(row.value_field) or "").strip()
            if not text:
                continue
            figure = self._read(row, text, data)
            if figure is None:
                continue
            entered, unit, base = figure
            if row.figure is not None and row.figure.value == base:
                continue  # unchanged
            if (data.get(row.seen_field) or None) != (row.figure.pk if row.figure else None):
                self.add_error(
                    row.value_field,
                    gettext(
                        "Someone changed this figure after you opened the form: it is now %(value)s. Check it, then "
                        "save again."
                    )
                    % {"value": _shown(row.figure)},
                )
                continue
            values[row.metric.code] = base
            self.changes.append((row, entered, unit, base))
        names = {row.metric.code: row.name for row in self.rows}
        changed = {row.metric.code for row, *_rest in self.changes}
        for row, *_rest in self.changes:
            code, whole = row.metric.code, row.metric.part_of
            if whole is not None and whole.code in values and values[code] > values[whole.code]:
                self.add_error(
                    row.value_field,
                    gettext(
                        "%(part)s cannot exceed %(whole)s, of which it is a part (%(value)s > %(whole_value)s, in the "
                        "base unit)."
                    )
                    % {
                        "part": row.name,
                        "whole": names.get(whole.code) or language.bilingual(whole),
                        "value": plain_number(values[code]),
                        "whole_value": plain_number(values[whole.code]),
                    },
                )
            for part in self.rows:
                # A whole lowered below a part already stored; a part changed too is answered on the part.
                if (
                    part.metric.part_of_id == row.metric.pk
                    and part.metric.code not in changed
                    and part.metric.code in values
                    and values[part.metric.code] > values[code]
                ):
                    self.add_error(
                        row.value_field,
                        gettext(
                            "%(whole)s cannot be less than %(part)s, which is a part of it "
                            "(%(value)s < %(part_value)s, in the base unit)."
                        )
                        % {
                            "whole": row.name,
                            "part": part.name,
                            "value": plain_number(values[code]),
                            "part_value": plain_number(values[part.metric.code]),
                        },
                    )
        return data

    def _read(self, row, text: str, data) -> tuple[Decimal, str | None, Decimal] | None:
        try:
            number = parse_number(text)
        except NumberError:
            self.add_error(
                row.value_field,
                gettext(
                    "“%(text)s” is not a number: write digits such as 1234.5 "
                    "(thousands separators and full-width digits are read)."
                )
                % {"text": text},
            )
            return None
        unit = data.get(row.unit_field) if row.unit_field else None
        if number.unit:
            if unit and number.unit != unit:
                self.add_error(
                    row.value_field,
                    gettext("The value says %(written)s but the unit chosen is %(chosen)s.")
                    % {"written": number.unit, "chosen": unit},
                )
                return None
            if not rules.unit_fits(row.metric, number.unit):
                self.add_error(
                    row.value_field,
                    gettext("%(metric)s is not measured in %(unit)s.") % {"metric": row.name, "unit": number.unit},
                )
                return None
            unit = number.unit
        try:
            base = to_base(number.value, unit)[0] if unit else number.value
        except UnitError:
            self.add_error(row.value_field, gettext("%(unit)s is not a unit.") % {"unit": unit})
            return None
        if row.metric.non_negative and base < 0:
            self.add_error(row.value_field, gettext("%(metric)s cannot be negative.") % {"metric": row.name})
            return None
        if problem := rules.storable_problem(base):
            self.add_error(row.value_field, problem)
            return None
        return number.value, unit, base


def plain_number(value: Decimal) -> str:
    value = value.normalize()
    return f"{value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value:,}"


def _initial_value(figure) -> str:
    if figure is None:
        return ""
    value = figure.entered_value if figure.entered_value is not None else figure.value
    return plain_number(value).replace(",", "")


def _initial_unit(figure, units: list[str]) -> str:
    if figure is not None and figure.entered_unit in units:
        return figure.entered_unit
    return units[0]


def _shown(figure) -> str:
    if figure is None:
        return gettext("no figure")
    return (
        f"{plain_number(figure.entered_value if figure.entered_value is not None else figure.value)} "
        f"{figure.entered_unit or ''}".strip()
    )


def units_of(metric) -> list[str]:
    """The units a value of the metric may be typed in: 万元, 元, 亿元 for money, else none to
    choose (the metric's own unit)."""
    if metric.unit_kind == UnitKind.MONEY:
        try:
            if find_unit(metric.base_unit).kind == "money":
                return list(MONEY_UNITS)
        except UnitError:
            pass
    return []


# --- uploads ------------------------------------------------------------------------------


class UploadForm(forms.Form):
    """A file of figures to import in the background (see importer.py for the layouts)."""

    file = forms.FileField(label=pgettext_lazy("statistics", "File (.xlsx or .csv)"))
    region = forms.CharField(
        label=pgettext_lazy("statistics", "Region code"),
        required=False,
        max_length=12,
        help_text=_("Where to look for enterprises the file names by name, e.g. 320612"),
    )
    period = forms.CharField(
        label=pgettext_lazy("statistics", "Period"),
        required=False,
        max_length=40,
        help_text=_("For a file that names no period: 2023H1, 2023年1-6月 …"),
    )
    sheet = forms.CharField(
        label=pgettext_lazy("statistics", "Sheet"),
        required=False,
        max_length=100,
        help_text=_("The workbook's first sheet if empty"),
    )
    dry_run = forms.BooleanField(label=pgettext_lazy("statistics", "Check only (write nothing)"), required=False)
    accept_warnings = forms.BooleanField(
        label=pgettext_lazy("statistics", "Accept warnings"),
        required=False,
        help_text=_("Import although the figures look unusual"),
    )

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(
                gettext("The file has %(size)s bytes; the limit is %(limit)s.")
                % {"size": f"{upload.size:,}", "limit": f"{self.max_bytes:,}"}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(gettext("Give an .xlsx or .csv file (an old .xls: save it as .xlsx first)."))
        return upload

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if text:
            parse_period(text)
        return text


# --- the approval queue ------------------------------------------------------------------


class QueueFilter(forms.Form):
    """The queue's filters, all in the URL. A bad value is reported and left out."""

    STATUSES = [
        ("submitted", pgettext_lazy("statistics", "Submitted")),
        ("returned", pgettext_lazy("statistics", "Returned for correction")),
        ("approved", pgettext_lazy("statistics", "Approved")),
        ("published", pgettext_lazy("statistics", "Published")),
        ("draft", pgettext_lazy("statistics", "Draft")),
        ("all", pgettext_lazy("statistics", "Any status")),
    ]

    q = forms.CharField(
        label=pgettext_lazy("statistics", "Enterprise"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": pgettext_lazy("statistics", "Name, key or USCC")}
        ),
    )
    period = PeriodField(
        label=pgettext_lazy("statistics", "Period"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2023H1", "size": 10}),
    )
    metric = forms.ChoiceField(label=pgettext_lazy("statistics", "Metric"), required=False)
    region = forms.ChoiceField(label=pgettext_lazy("statistics", "Region"), required=False)
    park = forms.ChoiceField(label=pgettext_lazy("statistics", "Park or zone"), required=False)
    status = forms.ChoiceField(label=pgettext_lazy("statistics", "Status"), required=False, choices=STATUSES)

    def __init__(self, *args, metrics, regions, parks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [("", pgettext_lazy("statistics", "All metrics"))] + [
            (m.code, capfirst(language.bilingual(m))) for m in metrics
        ]
        self.fields["region"].choices = [("", pgettext_lazy("statistics", "All regions"))] + [
            (r.code, f"{language.bilingual(r)} {r.code}") for r in regions
        ]
        self.fields["park"].choices = [("", pgettext_lazy("statistics", "All parks and zones"))] + [
            (p.key, language.bilingual(p)) for p in parks
        ]


class DecideForm(forms.Form):
    """The bureau's decision on one figure, or on the figures ticked in the queue."""

    transition = forms.ChoiceField(
        choices=[
            ("approve", pgettext_lazy("statistics", "Approve")),
            ("return", pgettext_lazy("statistics", "Return")),
            ("submit", pgettext_lazy("statistics", "Submit")),
            ("publish", pgettext_lazy("statistics", "Publish")),
        ]
    )
    comment = forms.CharField(
        label=pgettext_lazy("statistics", "Reason for returning"), required=False, max_length=2000
    )
    figures = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args, many: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.many = many
        # The ids are checked against the queue the user may decide on, by the view.
        self.fields["figures"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if data.get("transition") == "return" and not (data.get("comment") or "").strip():
            self.add_error("comment", gettext("Say what must be corrected."))
        if self.many and not data.get("figures"):
            self.add_error("figures", gettext("Tick the figures to decide on first."))
        return data


# --- locks --------------------------------------------------------------------------------


class LocksFilter(forms.Form):
    STATES = [
        ("", pgettext_lazy("statistics", "Open and lifted")),
        ("open", pgettext_lazy("statistics", "Open")),
        ("lifted", pgettext_lazy("statistics", "Lifted")),
    ]

    region = forms.ChoiceField(label=pgettext_lazy("statistics", "Region"), required=False)
    period = PeriodField(
        label=pgettext_lazy("statistics", "Period"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2023H1", "size": 10}),
    )
    state = forms.ChoiceField(label=pgettext_lazy("statistics", "Lock state"), required=False, choices=STATES)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", pgettext_lazy("statistics", "All regions"))] + [
            (r.code, f"{language.bilingual(r)} {r.code}") for r in regions
        ]


class LockForm(forms.Form):
    region = forms.CharField(max_length=12)
    period = PeriodField()


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label=pgettext_lazy("statistics", "Reason for unlocking"),
        max_length=2000,
        error_messages={"required": pgettext_lazy("statistics", "Say why the figures must change.")},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(gettext("Say why the figures must change."))
        return reason
