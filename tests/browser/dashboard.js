// spoor's dashboard in a real browser (Debian's chromium, driven by playwright-core), run by
// tests/tests/it/dashboard/browser.rs, which checks what this script reports.
//
// It loads an application's page, reads the series of the first chart (events over time),
// clicks an event in the events table, reads the series again, opens the first top user's
// timeline, clicks a property's first value (which adds a filter) and removes its chip, builds a
// funnel with the funnel page's form and clicks a value of its breakdown, saves screenshots, and
// prints one JSON line: what it saw, and every page error, console error and failed request.
//
// Environment: SPOOR_CHROMIUM (the browser), SPOOR_PAGE_URL (the page), SPOOR_CLICK_EVENT (the
// event to click), SPOOR_FILTER_PROPERTY (the property whose first value to click; no filter
// step without it), SPOOR_FUNNEL_STEPS (the funnel's events, comma-separated; no funnel step
// without it; SPOOR_FUNNEL_BREAKDOWN its breakdown), SPOOR_SCREENSHOT (where to save the PNG of the page after the click; the
// page before it goes beside it, as `…-all-events.png`, and the others as `…-timeline.png` and
// `…-filtered.png`).
'use strict';

const { chromium } = require('playwright-core');

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

// The series of the first chart, as drawn: each group's name and its points' values.
async function series(page) {
  const chart = page.locator('figure.chart').first();
  await chart.locator('svg').first().waitFor({ state: 'visible', timeout: 30000 });
  return chart.evaluate((figure) =>
    Array.from(figure.querySelectorAll('g.series')).map((g) => ({
      name: g.getAttribute('data-series'),
      values: Array.from(g.querySelectorAll('circle[data-value]')).map((c) =>
        Number(c.getAttribute('data-value')),
      ),
      // The server's <title>, or the label chart.js keeps of it when it adds its tooltip.
      titled: Array.from(g.querySelectorAll('circle[data-value]')).every(
        (c) => c.querySelector('title') !== null || !!c.getAttribute('aria-label'),
      ),
    })),
  );
}

// Hovers the middle point of the first chart's first series; the tooltip's text, if shown.
async function hover(page) {
  const points = page.locator('figure.chart').first().locator('g.series').first().locator('circle[data-value]');
  const count = await points.count();
  if (count === 0) {
    return null;
  }
  await points.nth(Math.floor(count / 2)).hover({ force: true });
  const tip = page.locator('figure.chart').first().locator('.chart-tooltip');
  try {
    await tip.waitFor({ state: 'visible', timeout: 5000 });
  } catch (err) {
    return null;
  }
  return (await tip.innerText()).replace(/\s+/g, ' ').trim();
}

async function main() {
  const url = need('SPOOR_PAGE_URL');
  const event = need('SPOOR_CLICK_EVENT');
  const browser = await chromium.launch({
    executablePath: need('SPOOR_CHROMIUM'),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        problems.push(`console error: ${msg.text()} (${msg.location().url || 'no address'})`);
      }
    });
    page.on('requestfailed', (req) =>
      problems.push(`request failed: ${req.url()} ${req.failure() && req.failure().errorText}`),
    );
    page.on('response', (res) => {
      if (res.status() >= 400) {
        problems.push(`HTTP ${res.status()}: ${res.url()}`);
      }
    });

    const response = await page.goto(url, { waitUntil: 'load' });
    const status = response ? response.status() : 0;
    const title = await page.title();
    const before = await series(page);
    const charts = await page.locator('figure.chart').count();
    const legend = await page.locator('figure.chart').first().locator('.legend li').allTextContents();

    const tooltip = await hover(page);
    await page.mouse.move(0, 0);
    const shot = need('SPOOR_SCREENSHOT');
    await page.screenshot({ path: shot.replace(/\.png$/, '-all-events.png'), fullPage: true });

    const events = page.locator('section', {
      has: page.locator('h2', { hasText: /^Events$/ }),
    });
    const link = events.getByRole('link', { name: event, exact: true });
    await Promise.all([page.waitForURL((u) => u.searchParams.get('event') === event), link.click()]);
    await page.waitForLoadState('load');
    const after = await series(page);
    const chosen = await events.locator('tr.chosen td').first().textContent();
    const properties = await page
      .locator('section', { has: page.locator('h2', { hasText: /^Properties of / }) })
      .count();

    const tooltip_after = await hover(page);
    await page.screenshot({ path: shot, fullPage: true });

    // A user id opens their timeline.
    const users = page.locator('section', { has: page.locator('h2', { hasText: /^Top users/ }) });
    const user = users.locator('tbody a').first();
    const userName = (await user.textContent()).trim();
    await Promise.all([page.waitForURL((u) => u.pathname.includes('/users/')), user.click()]);
    await page.waitForLoadState('load');
    const timeline = {
      url: page.url(),
      user: userName,
      heading: (await page.locator('h1').textContent()).trim(),
      rows: await page.locator('table.timeline tbody tr').count(),
      first_event: await page.locator('table.timeline tbody tr td:nth-child(2)').first().textContent(),
    };
    await page.screenshot({ path: shot.replace(/\.png$/, '-timeline.png'), fullPage: true });

    // A property's value adds a filter: the page shows its chip and narrows to it, and the chip's
    // remove link takes it away.
    let filtered = null;
    const property = process.env.SPOOR_FILTER_PROPERTY;
    if (property) {
      const at = new URL(url);
      at.searchParams.set('property', property);
      await page.goto(at.toString(), { waitUntil: 'load' });
      const values = page.locator('section', { has: page.locator('h2', { hasText: /^Values of / }) });
      const row = values.locator('tbody tr').first();
      const value = (await row.locator('a').first().textContent()).trim();
      const count = (await row.locator('td.num').first().textContent()).trim();
      await Promise.all([
        page.waitForURL((u) => u.searchParams.getAll('filter').length === 1),
        row.locator('a').first().click(),
      ]);
      await page.waitForLoadState('load');
      filtered = {
        value,
        count,
        url: page.url(),
        chips: (await page.locator('li.chip .chip-text').allTextContents()).map((t) => t.trim()),
        events: (await page.locator('section.cards .card p.value').first().textContent()).trim(),
        subtitle: (await page.locator('section.chart-block p.filtered').first().textContent()).trim(),
      };
      await page.screenshot({ path: shot.replace(/\.png$/, '-filtered.png'), fullPage: true });
      await Promise.all([
        page.waitForURL((u) => u.searchParams.getAll('filter').length === 0),
        page.locator('li.chip a.chip-remove').first().click(),
      ]);
      await page.waitForLoadState('load');
      filtered.chips_after_remove = await page.locator('li.chip').count();
    }
    // A funnel built with the page's form: the application page's "Funnel" link, the steps
    // typed in, a breakdown; then a value of the breakdown, which keeps step 1 to it.
    let funnel = null;
    const steps = process.env.SPOOR_FUNNEL_STEPS;
    if (steps) {
      await page.goto(url, { waitUntil: 'load' });
      await Promise.all([
        page.waitForURL((u) => u.pathname.endsWith('/funnel')),
        page.locator('nav.questions a', { hasText: 'Funnel' }).click(),
      ]);
      await page.waitForLoadState('load');
      const names = steps.split(',');
      const fields = page.locator('form.funnel-form input[name="step"]');
      for (let i = 0; i < names.length; i += 1) {
        await fields.nth(i).fill(names[i]);
      }
      await page.locator('form.funnel-form input[name="within"]').fill('30d');
      await page.locator('form.funnel-form input[name="breakdown"]').fill(process.env.SPOOR_FUNNEL_BREAKDOWN || '');
      await Promise.all([
        page.waitForURL((u) => u.searchParams.getAll('step').length > 0),
        page.locator('form.funnel-form button[type="submit"]').click(),
      ]);
      await page.waitForLoadState('load');
      await page.locator('figure.funnel-chart svg').waitFor({ state: 'visible', timeout: 30000 });
      const users = async () =>
        (await page.locator('table.funnel tbody tr td:nth-child(2)').allTextContents()).map((t) =>
          Number(t.trim().replace(/,/g, '')),
        );
      funnel = {
        url: page.url(),
        bars: await page.locator('figure.funnel-chart rect.kept').count(),
        users: await users(),
      };
      await page.screenshot({ path: shot.replace(/\.png$/, '-funnel.png'), fullPage: true });
      const value = page.locator('table.funnel-groups tbody tr td a').first();
      if ((await value.count()) > 0) {
        funnel.value = (await value.textContent()).trim();
        await Promise.all([
          page.waitForURL((u) => u.searchParams.getAll('filter.1').length === 1),
          value.click(),
        ]);
        await page.waitForLoadState('load');
        funnel.filtered_url = page.url();
        funnel.step_1_filters = await page
          .locator('form.funnel-form ol.steps li')
          .first()
          .locator('input[name="filter.1"]')
          .evaluateAll((fields) => fields.map((f) => f.value).filter((v) => v !== ''));
        funnel.filtered_users = await users();
      }
    }
    console.log(
      JSON.stringify({
        status,
        title,
        charts,
        legend: legend.map((t) => t.trim()),
        before,
        tooltip,
        tooltip_after,
        after_url: page.url(),
        after,
        chosen: chosen && chosen.trim(),
        properties,
        timeline,
        filtered,
        funnel,
        problems,
      }),
    );
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
