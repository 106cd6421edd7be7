/* kechuang: the indicators' charts. Every element with a data-chart attribute (JSON written by
   kechuang/indicators/views.py: kind, unit, unitKind, precision, categories, series) becomes an
   ECharts chart; `.spark` elements are the dashboard's small trend lines, whose data is fetched
   after the page (data-trends). Charts are drawn when the page loads and again when htmx swaps
   in a part of it.

   The page's Content-Security-Policy allows no inline style: charts draw on a canvas and the
   tooltip is drawn there too (renderMode "richText"), never as HTML with style attributes. */
(function () {
  "use strict";

  var COLOURS = ["#b3261e", "#0b5cad", "#2e7d32", "#8a5300", "#6a1b9a", "#00838f", "#5d6b7a", "#c2185b"];

  // The page's language (<html lang>): Chinese units (万元, 亿元) or English ones (million, billion).
  var ENGLISH = (document.documentElement.lang || "").indexOf("en") === 0;

  // Money is held in yuan and shown in the largest unit the figures reach (as display.py does).
  function moneyScale(values) {
    var largest = 0;
    values.forEach(function (value) { if (value !== null && Math.abs(value) > largest) { largest = Math.abs(value); } });
    if (ENGLISH) {
      if (largest >= 1e9) { return { divisor: 1e9, unit: "billion yuan" }; }
      if (largest >= 1e6) { return { divisor: 1e6, unit: "million yuan" }; }
      return { divisor: 1, unit: "yuan" };
    }
    if (largest >= 1e8) { return { divisor: 1e8, unit: "亿元" }; }
    if (largest >= 1e4) { return { divisor: 1e4, unit: "万元" }; }
    return { divisor: 1, unit: "元" };
  }

  function scaleOf(spec) {
    if (spec.unitKind === "money") {
      var all = [];
      spec.series.forEach(function (series) { all = all.concat(series.values); });
      return moneyScale(all);
    }
    return { divisor: 1, unit: spec.unit === "yuan" ? (ENGLISH ? "yuan" : "元") : spec.unit };
  }

  function option(spec, small) {
    var scale = scaleOf(spec);
    var digits = spec.unitKind === "money" ? 2 : spec.precision;
    function scaled(value) { return value === null ? null : Number((value / scale.divisor).toFixed(digits)); }
    var series = spec.series.map(function (item, index) {
      return {
        name: item.name,
        type: spec.kind === "bar" ? "bar" : "line",
        data: item.values.map(scaled),
        connectNulls: false,
        showSymbol: !small,
        symbolSize: 5,
        lineStyle: { width: small ? 1.5 : 2 },
        areaStyle: small ? { opacity: 0.12 } : undefined,
        itemStyle: { color: COLOURS[index % COLOURS.length] },
      };
    });
    return {
      animation: false,
      aria: { enabled: true },
      grid: small ? { left: 2, right: 2, top: 6, bottom: 2 } : { left: 12, right: 16, top: 36, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        confine: true,
        // A small chart is barely taller than its tooltip: keep it at the top, beside the pointer.
        position: small ? function (point, params, element, rect, size) {
          var beside = point[0] < size.viewSize[0] / 2 ? point[0] + 8 : point[0] - size.contentSize[0] - 8;
          return [Math.max(0, beside), 0];
        } : undefined,
        valueFormatter: function (value) { return value === null || value === undefined ? "—" : value + " " + scale.unit; },
      },
      legend: small || spec.series.length < 2 ? { show: false } : { type: "scroll", top: 0 },
      xAxis: { type: "category", data: spec.categories, show: !small, axisLabel: { hideOverlap: true } },
      yAxis: {
        type: "value", show: !small, scale: small, name: small ? "" : scale.unit,
        splitLine: { lineStyle: { color: "#e6ebf0" } },
      },
      series: series,
    };
  }

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (window.echarts.getInstanceByDom(element)) { return; }
      var spec = JSON.parse(element.getAttribute("data-chart"));
      var chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option(spec, element.classList.contains("spark")));
    });
  }

  // The dashboard's trends come after the page (views.region_trends): each element with a
  // data-trends URL is asked once, and its .spark[data-trend=code] elements get their charts.
  function fetchTrends(root) {
    root.querySelectorAll("[data-trends]").forEach(function (container) {
      var url = container.getAttribute("data-trends");
      if (!url || container.getAttribute("data-trends-loaded") === url) { return; }
      container.setAttribute("data-trends-loaded", url);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { charts: {} }; })
        .then(function (answer) {
          if (!container.isConnected) { return; }
          container.querySelectorAll(".spark[data-trend]").forEach(function (element) {
            var spec = answer.charts[element.getAttribute("data-trend")];
            if (spec) { element.setAttribute("data-chart", JSON.stringify(spec)); }
          });
          draw(container);
        })
        .catch(function () { /* the figures stand without their trends */ });
    });
  }

  function dispose(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.getInstanceByDom(element);
      if (chart) { chart.dispose(); }
    });
  }

  function start() {
    draw(document);
    fetchTrends(document);
    // htmx 4's events: a part is about to be replaced, and has been.
    document.addEventListener("htmx:before:swap", function (event) { dispose(event.target || document); });
    document.addEventListener("htmx:after:swap", function () { draw(document); fetchTrends(document); });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        document.querySelectorAll("[data-chart]").forEach(function (element) {
          var chart = window.echarts && window.echarts.getInstanceByDom(element);
          if (chart) { chart.resize(); }
        });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
