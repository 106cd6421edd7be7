"""The web form an enterprise (or a park, or the bureau) reports a figure with."""

from django import forms

from kechuang.accounts.scoping import organisations_changeable, scope_of
from kechuang.registry.models import Organisation

from .models import Metric, ObservationKind
from .periods import Period, PeriodError
from .units import NumberError, parse_number

UNITS = [("", "指标的基本单位 the metric's unit"), ("元", "元 yuan"), ("万元", "万元 10k yuan"), ("亿元", "亿元 100m yuan")]


class ReportForm(forms.Form):
    subject = forms.ModelChoiceField(Organisation.objects.none(), label="企业 Enterprise", to_field_name="key")
    metric = forms.ModelChoiceField(Metric.objects.all(), label="指标 Metric", to_field_name="code")
    period = forms.CharField(label="期间 Period", max_length=40,
                             help_text="2023年1-6月, 2023年上半年, 2023Q3, 2023-07 …")
    value = forms.CharField(label="数值 Value", max_length=60, help_text="1,234.5 · １２３４．５ · 135亿元")
    unit = forms.ChoiceField(choices=UNITS, required=False, label="单位 Unit")
    kind = forms.ChoiceField(choices=ObservationKind.choices, initial=ObservationKind.ACTUAL, label="类型 Kind")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope = scope_of(user)
        mine = Organisation.objects.all() if scope.everything else Organisation.objects.filter(
            organisations_changeable(scope))
        self.fields["subject"].queryset = mine.order_by("name_zh", "key")
        self.fields["metric"].queryset = Metric.objects.order_by("code")
        self.fields["metric"].label_from_instance = lambda m: f"{m.name_zh} {m.name_en} ({m.base_unit})"
        self.fields["subject"].label_from_instance = lambda o: f"{o.name_zh or o.name_en} ({o.key})"

    def clean_period(self):
        try:
            return Period.parse(self.cleaned_data["period"])
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        if "value" in data:
            try:
                number = parse_number(data["value"])
            except NumberError as exc:
                self.add_error("value", str(exc))
                return data
            data["value"] = number.value
            if number.unit and data.get("unit") and number.unit != data["unit"]:
                self.add_error("value", f"the value says {number.unit} but the unit chosen is {data['unit']}")
            elif number.unit:
                data["unit"] = number.unit  # "135亿元" carries its unit
        return data


class UploadForm(forms.Form):
    """A file of figures to import in the background (see importer.py for the layouts)."""

    file = forms.FileField(label="文件 File (.xlsx / .csv)")
    region = forms.CharField(label="地区代码 Region code", required=False, max_length=12,
                             help_text="按名称识别企业时的范围 scopes enterprises named by name, e.g. 320612")
    period = forms.CharField(label="期间 Period", required=False, max_length=40,
                             help_text="文件未写期间时 when the file names none: 2023年1-6月 …")
    sheet = forms.CharField(label="工作表 Sheet", required=False, max_length=100)
    dry_run = forms.BooleanField(label="仅检查 Check only (write nothing)", required=False)
    accept_warnings = forms.BooleanField(label="接受警告 Accept warnings", required=False)

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(f"the file has {upload.size:,} bytes; the limit is {self.max_bytes:,}")
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError("give an .xlsx or .csv file (an old .xls: save it as .xlsx first)")
        return upload

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if text:
            try:
                Period.parse(text)
            except PeriodError as exc:
                raise forms.ValidationError(str(exc)) from None
        return text
