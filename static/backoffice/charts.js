// Dashboard charts: a small SVG renderer for the app's own chart JSON
// ({charts: [{id, title, kind: "line" | "bar", unit, x: [...], series: [{name, values}]}]}).
// No library and no CDN: line charts and grouped bar charts, a legend, a <title> per
// point for the exact figure, and the same figures in a table for screen readers.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 560, HEIGHT = 250, LEFT = 48, RIGHT = 12, TOP = 22, BOTTOM = 40;
  const COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

  function svgElement(name, attributes, text) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function niceMaximum(value) {
    if (value <= 0) return 1;
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    // Steps whose quarters are round numbers (the axis has 4 ticks).
    for (const step of [1, 2, 4, 8, 10]) {
      if (value <= step * magnitude) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function axes(svg, maximum, labels, unit) {
    const plotHeight = HEIGHT - TOP - BOTTOM;
    for (let tick = 0; tick <= 4; tick++) {
      const y = TOP + plotHeight - (plotHeight * tick) / 4;
      svg.appendChild(svgElement("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y, class: "grid" }));
      svg.appendChild(svgElement("text", { x: LEFT - 6, y: y + 4, "text-anchor": "end", class: "tick" },
        String(Math.round((maximum * tick) / 4 * 10) / 10)));
    }
    const every = Math.max(1, Math.ceil(labels.length / 7));
    labels.forEach((label, index) => {
      if (index % every !== 0) return;
      svg.appendChild(svgElement("text", { x: xPosition(index, labels.length), y: HEIGHT - BOTTOM + 16,
        "text-anchor": "middle", class: "tick" }, label));
    });
    svg.appendChild(svgElement("text", { x: 4, y: 10, class: "tick" }, unit || ""));
  }

  function xPosition(index, count) {
    const plotWidth = WIDTH - LEFT - RIGHT;
    return LEFT + (count <= 1 ? plotWidth / 2 : (plotWidth * (index + 0.5)) / count);
  }

  function yPosition(value, maximum) {
    const plotHeight = HEIGHT - TOP - BOTTOM;
    return TOP + plotHeight - (plotHeight * value) / maximum;
  }

  function drawLine(svg, chart, maximum) {
    chart.series.forEach((series, s) => {
      const points = series.values.map((value, i) =>
        `${xPosition(i, chart.x.length)},${yPosition(value, maximum)}`);
      svg.appendChild(svgElement("polyline", { points: points.join(" "), fill: "none",
        stroke: COLOURS[s % COLOURS.length], "stroke-width": 2, class: "series",
        "data-series": series.name }));
      series.values.forEach((value, i) => {
        const dot = svgElement("circle", { cx: xPosition(i, chart.x.length), cy: yPosition(value, maximum),
          r: 2.5, fill: COLOURS[s % COLOURS.length] });
        dot.appendChild(svgElement("title", {}, `${series.name}, ${chart.x[i]}: ${value}`));
        svg.appendChild(dot);
      });
    });
  }

  function drawBars(svg, chart, maximum) {
    const slot = (WIDTH - LEFT - RIGHT) / Math.max(1, chart.x.length);
    const width = Math.max(2, (slot * 0.8) / Math.max(1, chart.series.length));
    chart.series.forEach((series, s) => {
      series.values.forEach((value, i) => {
        const x = LEFT + slot * i + slot * 0.1 + width * s;
        const y = yPosition(value, maximum);
        const bar = svgElement("rect", { x: x, y: y, width: width, height: HEIGHT - BOTTOM - y,
          fill: COLOURS[s % COLOURS.length], class: "series", "data-series": series.name });
        bar.appendChild(svgElement("title", {}, `${series.name}, ${chart.x[i]}: ${value}`));
        svg.appendChild(bar);
      });
    });
  }

  function figuresTable(chart) {
    const table = document.createElement("table");
    table.className = "visually-hidden";
    const head = table.createTHead().insertRow();
    head.appendChild(Object.assign(document.createElement("th"), { textContent: "" }));
    chart.series.forEach((series) =>
      head.appendChild(Object.assign(document.createElement("th"), { scope: "col", textContent: series.name })));
    const body = table.createTBody();
    chart.x.forEach((label, i) => {
      const row = body.insertRow();
      row.appendChild(Object.assign(document.createElement("th"), { scope: "row", textContent: label }));
      chart.series.forEach((series) => { row.insertCell().textContent = series.values[i]; });
    });
    return table;
  }

  function legend(chart) {
    const list = document.createElement("ul");
    list.className = "chart-legend";
    chart.series.forEach((series, s) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLOURS[s % COLOURS.length];
      item.append(swatch, series.name);
      list.appendChild(item);
    });
    return list;
  }

  function render(chart) {
    const figure = document.createElement("figure");
    figure.className = "chart";
    figure.id = `chart-${chart.id}`;
    const caption = document.createElement("figcaption");
    caption.textContent = chart.title;
    figure.appendChild(caption);
    if (!chart.x.length) {
      figure.appendChild(Object.assign(document.createElement("p"), { className: "muted", textContent: "No data yet." }));
      return figure;
    }
    const largest = Math.max(0, ...chart.series.flatMap((series) => series.values));
    const maximum = niceMaximum(largest);
    const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
      "aria-label": chart.title, "data-kind": chart.kind });
    axes(svg, maximum, chart.x, chart.unit);
    (chart.kind === "bar" ? drawBars : drawLine)(svg, chart, maximum);
    figure.append(svg, legend(chart), figuresTable(chart));
    return figure;
  }

  async function load() {
    const container = document.getElementById("charts");
    const status = document.getElementById("charts-status");
    if (!container) return;
    try {
      const response = await fetch(container.dataset.url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      container.replaceChildren(...data.charts.map(render));
      const asOf = new Date(data.as_of).toLocaleTimeString([], { hour12: false });
      status.textContent = `As of ${asOf} · updated every ${data.ttl_seconds} s`;
    } catch (error) {
      status.textContent = `The charts could not be loaded (${error.message}).`;
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
