// spoor.js in a real browser (Debian's chromium, driven by playwright-core), run by
// crates/spoor-dashboard/tests/it/feed.rs, which checks what this script reports and what the
// dashboard then counts.
//
// Three pages, each on an origin other than the dashboard's, each loading the dashboard's
// /spoor.js:
// - SPOOR_PAGE_URL (an allowed origin): its page view and a custom event are sent by fetch after
//   the batch's delay; a second custom event is sent by sendBeacon as the page is left; the
//   page is loaded again to see that the anonymous id is kept.
// - SPOOR_REFUSED_URL (an origin not allowed): a direct request to /api/track must fail in the
//   browser (no CORS headers).
// - SPOOR_DNT_URL (allowed, but the browser asks not to be tracked): nothing may be sent.
//
// It prints one JSON line: the /api/track requests it saw, the ids, what the refused page got,
// and every page error, console error and failed request.
'use strict';

const { chromium } = require('playwright-core');

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const pageUrl = need('SPOOR_PAGE_URL');
  const refusedUrl = need('SPOOR_REFUSED_URL');
  const dntUrl = need('SPOOR_DNT_URL');
  const browser = await chromium.launch({
    executablePath: need('SPOOR_CHROMIUM'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  const requests = [];
  const watch = (page, label) => {
    page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && label !== 'refused') {
        problems.push(`${label}: console: ${msg.text()}`);
      }
    });
    page.on('request', (req) => {
      if (req.url().includes('/api/track')) {
        requests.push({ page: label, method: req.method(), url: req.url(), body: req.postData() });
      }
    });
  };
  const report = { problems, requests };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    watch(page, 'allowed');
    await page.goto(pageUrl);
    await page.waitForFunction(() => window.spoor && typeof window.spoor.track === 'function');
    report.id = await page.evaluate(() => localStorage.getItem('spoor_id'));
    report.cookies = await page.evaluate(() => document.cookie);
    await page.evaluate(() => {
      window.spoor.track('signup', { plan: 'pro', seats: 3 });
      // Left out by the script with a warning, so the rest of the batch still counts.
      window.spoor.track('signup', { 'bad-key': 'x', plan: 'free' });
    });
    // The batch's delay is 2 s: the page view and the two sign-ups go by fetch.
    for (let i = 0; i < 50 && requests.length === 0; i++) {
      await sleep(100);
    }
    await sleep(500);
    const responses = [];
    page.on('response', (res) => {
      if (res.url().includes('/api/track')) {
        responses.push(res.status());
      }
    });
    await page.evaluate(() => window.spoor.track('checkout', { amount: 9.5 }));
    // Leaving the page hides it: the queued checkout goes by sendBeacon.
    await page.goto('about:blank');
    await sleep(500);
    const again = await context.newPage();
    watch(again, 'allowed-again');
    await again.goto(pageUrl);
    await again.waitForFunction(() => window.spoor && typeof window.spoor.flush === 'function');
    report.id_again = await again.evaluate(() => localStorage.getItem('spoor_id'));
    await again.evaluate(() => window.spoor.flush());
    await sleep(1000);

    const refused = await context.newPage();
    watch(refused, 'refused');
    await refused.goto(refusedUrl);
    await refused.waitForFunction(() => window.spoor && typeof window.spoor.track === 'function');
    report.refused = await refused.evaluate(async (api) => {
      try {
        const res = await fetch(api, {
          method: 'POST',
          body: JSON.stringify({ application: 'refusedapp', event: 'direct' }),
          headers: { 'Content-Type': 'text/plain' },
        });
        return `read a reply: ${res.status}`;
      } catch (err) {
        return 'blocked';
      }
    }, new URL('/api/track', await refused.evaluate(() => document.querySelector('script[data-app]').src)).href);

    const dntContext = await browser.newContext();
    await dntContext.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
    });
    const dnt = await dntContext.newPage();
    watch(dnt, 'dnt');
    await dnt.goto(dntUrl);
    await dnt.waitForFunction(() => window.spoor && typeof window.spoor.track === 'function');
    await dnt.evaluate(() => {
      window.spoor.track('signup', { plan: 'pro' });
      window.spoor.flush();
    });
    await dnt.goto('about:blank');
    await sleep(500);
  } catch (err) {
    problems.push(`script: ${err.stack || err}`);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
