// Drives Debian's chromium through playwright-core for tests/integration/test_dashboard.py: one
// JSON command a line on standard input, one JSON answer a line on standard output.
//   {"op":"open","url":U[,"prompt_answer":T]} -> {"nodes":[data-node...], "scenario": name,
//                                             "dialogs": the prompts answered with T}
//   {"op":"wait_row","server":S,"status":N,"timeout_ms":T} -> {"text": the row's text}
//   {"op":"detail","server":S}            -> {"text": the entry's JSON, "logs": [{kind, text}]}
//   {"op":"log","file":F,"filter":Q,"want":W} -> {"text": the log view once it shows W}
//   {"op":"switch","name":N}              -> {"nodes":[...], "scenario": name}
//   {"op":"screenshot","path":P}          -> {}
//   {"op":"close"}                        -> {} and exit
// Every answer carries "errors": what the page threw or logged as an error so far.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
const errors = [];
const dialogs = []; // the prompts answered
page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
// a 401 is how the page learns it needs the token (it then prompts; without one it never gets
// ready, which "open" reports); any other error logged is the page's fault
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push('console: ' + m.text());
});
page.on('requestfailed', (r) => {
  // the long poll is cut when the page goes away; anything else is an error
  if (!r.url().includes('/requests/wait')) errors.push('requestfailed: ' + r.url());
});

async function nodes() {
  return {
    dialogs: dialogs.slice(),
    nodes: await page.$$eval('[data-node]', (els) => els.map((e) => e.dataset.node)),
    scenario: await page.textContent('#scenario-name'),
  };
}

async function run(c) {
  switch (c.op) {
  case 'open':
    if (c.prompt_answer !== undefined) {
      page.once('dialog', (d) => { dialogs.push(d.message()); d.accept(c.prompt_answer); });
    }
    await page.goto(c.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: c.timeout_ms || 10000 });
    return nodes();
  case 'wait_row': {
    const sel = `#requests tbody tr[data-server="${c.server}"][data-status="${c.status}"]`;
    const row = await page.waitForSelector(sel, { timeout: c.timeout_ms || 1000 });
    return { text: await row.innerText() };
  }
  case 'proxy': {
    // a front end's proxying to another server's back end, drawn while the request is lit
    const p = await page.waitForSelector(`#wires path[data-proxy$=">${c.backend}"]`,
                                         { timeout: c.timeout_ms || 2000, state: 'attached' });
    return { proxy: await p.getAttribute('data-proxy'), cls: await p.getAttribute('class') };
  }
  case 'detail':
    await page.click(`#requests tbody tr[data-server="${c.server}"]`);
    await page.waitForSelector('#detail:not([hidden])', { timeout: 2000 });
    await page.waitForFunction(() => !document.getElementById('detail-logs').textContent.includes('looking'),
                               null, { timeout: 5000 });
    return {
      text: await page.textContent('#detail-json'),
      logs: await page.$$eval('#detail-logs .logfile', (els) => els.map((e) => ({
        kind: e.dataset.kind, text: e.querySelector('pre').textContent }))),
    };
  case 'switch':
    await page.keyboard.press('Escape'); // the detail panel, if open
    await page.selectOption('#scenario-select', c.name);
    await page.click('#switch');
    await page.waitForFunction((n) => document.getElementById('scenario-name').textContent === n,
                               c.name, { timeout: c.timeout_ms || 10000 });
    return nodes();
  case 'log':
    await page.waitForFunction((f) => [...document.getElementById('log-file').options].some((o) => o.value === f),
                               c.file, { timeout: 5000 });
    await page.selectOption('#log-file', c.file);
    await page.fill('#log-filter', c.filter || '');
    await page.waitForFunction((w) => document.getElementById('log-text').textContent.includes(w),
                               c.want, { timeout: c.timeout_ms || 5000 });
    return { text: await page.textContent('#log-text') };
  case 'screenshot':
    await page.screenshot({ path: c.path, fullPage: true });
    return {};
  case 'close':
    await browser.close();
    return {};
  default:
    throw new Error('unknown op ' + c.op);
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  let out;
  try {
    out = await run(c);
  } catch (e) {
    out = { error: String(e && e.message || e) };
  }
  out.errors = errors.slice();
  process.stdout.write(JSON.stringify(out) + '\n');
  if (c.op === 'close') process.exit(0);
}
await browser.close();
