// spoor's charts, enhanced: a tooltip next to the nearest point and the series highlighted.
// The server draws everything, with an SVG <title> per point; without this script the page
// reads the same and the browser shows those titles on hover. Plain ES2017, no dependencies.
(function () {
  'use strict';

  function text(tag, cls, content) {
    const el = document.createElement(tag);
    el.className = cls;
    if (content !== undefined) el.textContent = content;
    return el;
  }

  function enhance(figure) {
    const svg = figure.querySelector('svg.chart-svg');
    if (!svg) return;
    const unit = figure.dataset.unit || '';
    const groups = Array.from(svg.querySelectorAll('g.series'));
    const series = groups.map(function (g) {
      const points = Array.from(g.querySelectorAll('circle'));
      points.forEach(function (c) {
        // The native title would show as a second tooltip: keep it as the point's label.
        const title = c.querySelector('title');
        if (title) { c.setAttribute('aria-label', title.textContent); title.remove(); }
      });
      return { g: g, points: points, color: g.querySelector('path').getAttribute('stroke') };
    });
    const legend = Array.from(figure.querySelectorAll('.legend li'));
    const tip = figure.appendChild(text('div', 'chart-tooltip'));
    tip.hidden = true;
    tip.setAttribute('role', 'status');
    let current = null; // [series index, point index]

    function show(s, i) {
      const entry = series[s];
      const c = entry && entry.points[i];
      if (!c) return;
      current = [s, i];
      const value = Number(c.dataset.value);
      const u = value === 1 && unit.endsWith('s') ? unit.slice(0, -1) : unit;
      const head = text('div', 'tip-series');
      const swatch = text('span', 'tip-swatch');
      swatch.style.background = entry.color;
      head.append(swatch, text('span', '', entry.g.dataset.name || entry.g.dataset.series));
      tip.replaceChildren(head, text('div', 'tip-date', c.dataset.label),
        text('div', 'tip-value', value.toLocaleString('en-US') + ' ' + u));
      tip.hidden = false;
      svg.classList.add('has-active');
      figure.classList.add('has-active');
      groups.forEach(function (g, k) { g.classList.toggle('is-active', k === s); });
      legend.forEach(function (li) { li.classList.toggle('is-active', li.dataset.series === entry.g.dataset.series); });
      svg.querySelectorAll('circle.is-active').forEach(function (p) { p.classList.remove('is-active'); });
      c.classList.add('is-active');
      // Place the box beside the point, inside the figure.
      const box = figure.getBoundingClientRect();
      const dot = c.getBoundingClientRect();
      const x = dot.left - box.left + dot.width / 2, y = dot.top - box.top + dot.height / 2;
      let left = x + 12;
      if (left + tip.offsetWidth > box.width) left = x - 12 - tip.offsetWidth;
      tip.style.left = Math.max(0, left) + 'px';
      tip.style.top = Math.max(0, y - tip.offsetHeight - 8) + 'px';
    }

    function hide() {
      current = null;
      tip.hidden = true;
      svg.classList.remove('has-active');
      figure.classList.remove('has-active');
      figure.querySelectorAll('.is-active').forEach(function (el) { el.classList.remove('is-active'); });
    }

    svg.addEventListener('pointermove', function (e) {
      const m = svg.getScreenCTM();
      if (!m) return;
      const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
      let best = null, bestD = Infinity;
      series.forEach(function (entry, s) {
        entry.points.forEach(function (c, i) {
          const dx = c.cx.baseVal.value - p.x;
          const dy = c.cy.baseVal.value - p.y;
          const d = dx * dx * 4 + dy * dy; // nearer in time counts most
          if (d < bestD) { bestD = d; best = [s, i]; }
        });
      });
      if (best && bestD < 40 * 40 * 4) show(best[0], best[1]); else hide();
    });
    svg.addEventListener('pointerleave', hide);

    // Keyboard: focus the chart, then arrows move along a series (left, right) or across them.
    svg.setAttribute('tabindex', '0');
    svg.addEventListener('focus', function () { if (!current) show(0, 0); });
    svg.addEventListener('blur', hide);
    svg.addEventListener('keydown', function (e) {
      if (!current) return;
      const [s, i] = current;
      const last = series[s].points.length - 1;
      const moves = {
        ArrowLeft: [s, Math.max(0, i - 1)], ArrowRight: [s, Math.min(last, i + 1)],
        Home: [s, 0], End: [s, last],
        ArrowUp: [Math.max(0, s - 1), i], ArrowDown: [Math.min(series.length - 1, s + 1), i],
      };
      if (e.key === 'Escape') { hide(); return; }
      if (!moves[e.key]) return;
      e.preventDefault();
      show(moves[e.key][0], moves[e.key][1]);
    });
  }

  function start() { document.querySelectorAll('figure.chart').forEach(enhance); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
