/*
 * The mrsmock dashboard. Reads the admin API it is served by: GET /topology (drawn: listeners,
 * balancers, servers, what is broken), GET /requests then the long poll GET /requests/wait
 * (each request as it is answered, its path lit up), GET /scenarios, PUT /scenario,
 * POST /reset, GET /ca, GET /logs and /logs/tail (the log files, tailed; a request's own lines).
 * Text from the lab is only ever set as text, never as HTML.
 *
 * The token (--admin-token): from the URL's fragment (#token=...), which browsers never send,
 * then dropped from the address bar and kept for this tab only (sessionStorage); or asked for
 * when the API answers 401. It travels as the API expects, Authorization: Bearer.
 */
'use strict';

const POLL_MS = 20000;      /* a long poll's timeout */
const TOPOLOGY_MS = 2000;   /* how often the balancers' live state is read */
const MAX_ROWS = 500;
const LIT_MS = 2500;

const $ = (id) => document.getElementById(id);
const state = { token: null, since: 0, topoKey: '', topo: null, entries: new Map(), asking: null, shown: null };

/* --- the token and the API ----------------------------------------------------------------- */

function takeToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    state.token = decodeURIComponent(m[1]);
    sessionStorage.setItem('mrsmock-admin-token', state.token);
    history.replaceState(null, '', location.pathname + location.search);
  } else {
    state.token = sessionStorage.getItem('mrsmock-admin-token');
  }
}

/* One prompt at a time, whoever asks. */
function askToken() {
  if (!state.asking) {
    state.asking = new Promise((resolve) => {
      const t = window.prompt('The admin API asks for its token (mrsmock run --admin-token):');
      if (t) {
        state.token = t;
        sessionStorage.setItem('mrsmock-admin-token', t);
      }
      resolve(!!t);
    }).finally(() => { setTimeout(() => { state.asking = null; }, 0); });
  }
  return state.asking;
}

async function call(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401 && attempt === 0 && await askToken()) continue;
    return r;
  }
}

async function callJson(method, path, body) {
  const r = await call(method, path, body);
  const j = await r.json().catch(() => null);
  if (!r.ok) {
    const e = new Error((j && j.error) || ('HTTP ' + r.status));
    e.details = j && j.errors;
    throw e;
  }
  return j;
}

function say(text, ok) {
  const s = $('status');
  s.textContent = text;
  s.className = ok ? 'ok' : '';
}

/* --- small DOM helpers ----------------------------------------------------------------------- */

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function badge(text, kind) {
  return el('span', 'badge' + (kind ? ' ' + kind : ''), text);
}

function problemList(problems) {
  const ul = el('ul');
  for (const p of problems) {
    const li = el('li', 'problem', p.text);
    li.dataset.code = p.code;
    ul.appendChild(li);
  }
  return ul;
}

/* --- the topology ---------------------------------------------------------------------------- */

function certBlock(c) {
  const d = el('div', 'cert');
  d.appendChild(el('div', 'sub', 'certificate ' + c.id + ': ' + c.names.join(', ')));
  d.appendChild(el('div', 'sub', c.not_before.slice(0, 10) + ' → ' + c.not_after.slice(0, 10) +
    ' · ' + c.issuer + ' · ' + c.key + ' · ' + c.digest + ' · chain ' + c.chain));
  if (c.problems.length) d.appendChild(problemList(c.problems));
  return d;
}

/* The firewall in front of a listener, drawn inside it: its rules in order, its URL filters. */
function firewallBlock(f) {
  const d = el('div', 'cert');
  d.appendChild(el('div', 'sub', 'firewall ' + f.name + ' (default ' + f.default + ')'));
  for (const r of f.rules) d.appendChild(el('div', 'sub', 'rule ' + r.name + ': ' + r.action + ' ' + r.sources.join(' ')));
  for (const u of f.url_filters) d.appendChild(el('div', 'sub', 'url filter ' + u.path + ': ' + u.action));
  for (const x of f.sni_filters) d.appendChild(el('div', 'sub', 'SNI filter ' + x.host + ': ' + x.action));
  for (const p of f.publish) d.appendChild(el('div', 'sub', 'publishes ' + p.path + (p.pre_auth === 'none' ? '' : ', pre-auth ' + p.pre_auth)));
  if (f.ssl_offload) d.appendChild(el('div', 'sub', 'offloads TLS: plain HTTP to port 80'));
  if (f.problems.length) d.appendChild(problemList(f.problems));
  return d;
}

function listenerNode(l) {
  const n = el('div', 'node listener');
  n.dataset.node = 'listener:' + l.name;
  n.appendChild(el('h4', null, l.name));
  n.appendChild(el('div', 'sub', l.url + (l.tls ? ' · TLS ' + l.tls_versions.join('/') : ' · plain HTTP')));
  n.appendChild(el('div', 'sub', 'hosts: ' + l.hosts.join(', ')));
  if (l.handshake_fault) {
    n.appendChild(problemList([{ code: 'handshake-fault', text: 'handshake fault: ' + l.handshake_fault }]));
  }
  if (l.client_certificate !== 'ignore') n.appendChild(el('div', 'sub', 'client certificates: ' + l.client_certificate));
  if (l.port_state && l.port_state !== 'open') {
    n.appendChild(problemList([{ code: 'port-state', text: 'port ' + l.port_state }]));
  }
  if (l.firewall) n.appendChild(firewallBlock(l.firewall));
  let broken = !!l.handshake_fault || (l.port_state && l.port_state !== 'open') ||
    (l.firewall && l.firewall.problems.length > 0);
  for (const c of l.certificates) {
    n.appendChild(certBlock(c));
    broken = broken || c.problems.length > 0;
  }
  n.classList.toggle('broken', broken);
  return n;
}

function scheduleText(d) {
  if (!d) return '';
  const span = d.from + '–' + d.to + ' ' + (d.unit === 'seconds' ? 's' : 'arrivals');
  return 'down ' + span + (d.period ? ' of every ' + d.period : '');
}

function balancerNode(l) {
  const b = l.balancer;
  const n = el('div', 'node balancer');
  n.dataset.node = 'balancer:' + l.name;
  n.appendChild(el('h4', null, b.name));
  n.appendChild(el('div', 'sub', b.mode + ' · ' + b.policy + ' · check ' + b.check +
    (b.check_path ? ' ' + b.check_path : '') + (b.arrivals !== undefined ? ' · arrivals ' + b.arrivals : '')));
  const ul = el('ul');
  let broken = false;
  for (const m of b.members) {
    const li = el('li', 'member');
    li.dataset.member = l.name + ':' + m.server;
    li.appendChild(el('strong', null, m.server));
    li.appendChild(badge('', ''));
    if (m.down) li.appendChild(el('span', 'sub', scheduleText(m.down)));
    for (const c of m.certificates) {
      li.appendChild(certBlock(c));
      broken = broken || c.problems.length > 0;
    }
    if (m.problems.length) {
      li.appendChild(problemList(m.problems));
      broken = true;
    }
    ul.appendChild(li);
  }
  n.appendChild(ul);
  n.classList.toggle('broken', broken);
  return n;
}

function memberLive(li, m) {
  const b = li.querySelector('.badge');
  if (!m.now) {
    b.textContent = '';
    return;
  }
  const down = !m.now.up || m.now.offline;
  b.textContent = (m.now.up ? (m.now.offline ? 'offline' : 'up') : 'down') +
    (m.now.active ? ' · ' + m.now.active + ' conn' : '');
  b.className = 'badge ' + (down ? 'bad' : 'ok');
  b.title = m.now.reason || '';
}

function serverNode(s) {
  const n = el('div', 'node server');
  n.dataset.node = 'server:' + s.name;
  const h = el('h4', null, s.name + ' ');
  h.appendChild(badge(s.state, s.state === 'running' ? 'ok' : 'bad'));
  n.appendChild(h);
  n.appendChild(el('div', 'sub', 'Exchange ' + s.version + ' · ' + s.build + ' · ' + s.fqdn + (s.ip ? ' · ' + s.ip : '')));
  const ul = el('ul');
  for (const v of s.vdirs) {
    const li = el('li');
    li.appendChild(el('strong', null, v.name + ' '));
    li.appendChild(document.createTextNode((v.auth.length ? v.auth.join(', ') : 'no authentication') + ' '));
    li.appendChild(badge(v.app_pool.name + ' ' + v.app_pool.state, v.app_pool.state === 'started' ? 'ok' : 'bad'));
    if (v.external_url) li.appendChild(el('div', 'sub', v.external_url));
    ul.appendChild(li);
  }
  const mrs = el('li');
  mrs.appendChild(document.createTextNode('MRSProxyEnabled '));
  mrs.appendChild(badge(s.mrsproxy_enabled ? 'True' : 'False', s.mrsproxy_enabled ? 'ok' : 'bad'));
  ul.appendChild(mrs);
  for (const sv of s.services) {
    const li = el('li');
    li.appendChild(document.createTextNode(sv.name + ' '));
    li.appendChild(badge(sv.status, sv.status === 'Running' ? 'ok' : 'bad'));
    ul.appendChild(li);
  }
  n.appendChild(ul);
  if (s.problems.length) n.appendChild(problemList(s.problems));
  n.classList.toggle('broken', s.problems.length > 0);
  return n;
}

/* The wires: [from node, to node, broken, id]. */
function wiresOf(t) {
  const w = [];
  const servers = new Map(t.servers.map((s) => [s.name, s]));
  const bad = (name) => { const s = servers.get(name); return !!(s && s.problems.length); };
  for (const l of t.listeners) {
    if (l.balancer) {
      w.push(['listener:' + l.name, 'balancer:' + l.name, false, 'wire:' + l.name]);
      for (const m of l.balancer.members) {
        const broken = bad(m.server) || m.problems.length > 0 ||
          m.certificates.some((c) => c.problems.length) ||
          (m.now && (!m.now.up || m.now.offline));
        w.push(['balancer:' + l.name, 'server:' + m.server, broken, 'wire:' + l.name + ':' + m.server]);
      }
    } else if (l.server) {
      w.push(['listener:' + l.name, 'server:' + l.server, bad(l.server), 'wire:' + l.name + ':' + l.server]);
    }
  }
  return w;
}

function drawWires() {
  const t = state.topo;
  const svg = $('wires');
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  if (!t) return;
  const box = $('topology').getBoundingClientRect();
  for (const [from, to, broken, id] of wiresOf(t)) {
    const a = document.querySelector('[data-node="' + CSS.escape(from) + '"]');
    const b = document.querySelector('[data-node="' + CSS.escape(to) + '"]');
    if (!a || !b) continue;
    const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
    const x1 = ra.right - box.left, y1 = ra.top + Math.min(ra.height / 2, 40) - box.top;
    const x2 = rb.left - box.left, y2 = rb.top + Math.min(rb.height / 2, 40) - box.top;
    const mx = (x1 + x2) / 2;
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.setAttribute('d', `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
    p.dataset.wire = id;
    if (broken) p.classList.add('broken');
    svg.appendChild(p);
  }
}

/* A description as written in the scenario, its lines wrapped by hand, as paragraphs: a new one
 * at each "Client sees:", "Found by:" and the like. */
function reflow(text) {
  return text.trim().split(/\n(?=[A-Z][A-Za-z ]{2,30}:\s)/)
    .map((p) => p.replace(/\s*\n\s*/g, ' ')).join('\n\n');
}

/* What the picture is made of, without what changes with every arrival. */
function structureKey(t) {
  return JSON.stringify(t, (k, v) => (k === 'now' || k === 'arrivals' ? undefined : v));
}

function renderTopology(t) {
  state.topo = t;
  const key = structureKey(t);
  if (key !== state.topoKey) {
    state.topoKey = key;
    $('scenario-name').textContent = t.scenario.name;
    $('scenario-summary').textContent = t.scenario.summary;
    document.title = 'mrsmock · ' + t.scenario.name;
    /* the description's first line is the summary, shown above */
    $('description').textContent = reflow(t.scenario.description.split('\n').slice(1).join('\n'));
    $('domains').textContent = 'Accepted domains: ' + t.accepted_domains.map((d) => d.name + (d.default ? ' (default)' : '')).join(', ');
    const cols = { l: $('col-listeners'), b: $('col-balancers'), s: $('col-servers') };
    for (const c of Object.values(cols)) while (c.children.length > 1) c.removeChild(c.lastChild);
    for (const l of t.listeners) {
      cols.l.appendChild(listenerNode(l));
      if (l.balancer) cols.b.appendChild(balancerNode(l));
    }
    for (const s of t.servers) cols.s.appendChild(serverNode(s));
    cols.b.hidden = !t.listeners.some((l) => l.balancer);
    const problems = $('problems');
    while (problems.firstChild) problems.removeChild(problems.firstChild);
    const all = [];
    for (const l of t.listeners) {
      for (const c of l.certificates) for (const p of c.problems) all.push(l.name + ' (' + c.id + '): ' + p.text);
      if (l.balancer) {
        for (const m of l.balancer.members) {
          for (const c of m.certificates) for (const p of c.problems) all.push(l.balancer.name + ' → ' + m.server + ' (' + c.id + '): ' + p.text);
          for (const p of m.problems) all.push(p.text);
        }
      }
      if (l.handshake_fault) all.push(l.name + ': handshake fault ' + l.handshake_fault);
      if (l.port_state && l.port_state !== 'open') all.push(l.name + ': port ' + l.port_state);
      if (l.firewall) for (const p of l.firewall.problems) all.push(p.text);
    }
    for (const s of t.servers) for (const p of s.problems) all.push(p.text);
    for (const f of t.faults || []) {
      all.push('fault rule ' + f.name + ' at ' + f.stage + ': ' + f.action +
               (f.status ? ' ' + f.status : '') + ', for ' + f.picks);
    }
    if (!all.length) all.push('nothing the model marks: a healthy lab, or a fault the picture does not show (read the description)');
    for (const text of all) problems.appendChild(el('li', all.length && text.startsWith('nothing') ? null : 'problem', text));
    const sel = $('scenario-select');
    if ([...sel.options].some((o) => o.value === t.scenario.name)) sel.value = t.scenario.name;
  }
  for (const l of t.listeners) {
    if (!l.balancer) continue;
    for (const m of l.balancer.members) {
      const li = document.querySelector('[data-member="' + CSS.escape(l.name + ':' + m.server) + '"]');
      if (li) memberLive(li, m);
    }
  }
  drawWires();
}

async function loadTopology() {
  renderTopology(await callJson('GET', '/topology'));
}

async function watchTopology() {
  for (;;) {
    await new Promise((r) => setTimeout(r, TOPOLOGY_MS));
    try { await loadTopology(); } catch (e) { say('topology: ' + e.message); }
  }
}

/* --- requests ---------------------------------------------------------------------------- */

function triple(e) {
  return e.status ? e.status + '.' + e.substatus + '.' + e.win32_status : '—';
}

function failed(e) {
  return !e.status || e.status >= 400;
}

/* The front end's proxying of a request to another server's back end (2013+), drawn for as long
 * as the request is lit: from the server it reached to the one that answered, looping out to
 * the right of the column of servers. */
function proxyWire(e) {
  const a = document.querySelector('[data-node="' + CSS.escape('server:' + e.server) + '"]');
  const b = document.querySelector('[data-node="' + CSS.escape('server:' + e.backend) + '"]');
  if (!a || !b) return;
  const box = $('topology').getBoundingClientRect();
  const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
  const x1 = ra.right - box.left, y1 = ra.top + Math.min(ra.height / 2, 40) - box.top;
  const x2 = rb.right - box.left, y2 = rb.top + Math.min(rb.height / 2, 40) - box.top;
  const out = Math.max(x1, x2) + 60;
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', `M${x1},${y1} C${out},${y1} ${out},${y2} ${x2},${y2}`);
  p.dataset.proxy = e.server + '>' + e.backend;
  p.classList.add('proxy', 'lit');
  p.classList.toggle('fail', failed(e));
  const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
  title.textContent = e.server + ' proxied ' + (e.method || '') + ' ' + (e.path || '') + ' to ' +
    e.backend + ': ' + triple(e);
  p.appendChild(title);
  $('wires').appendChild(p);
  setTimeout(() => p.remove(), LIT_MS);
}

function light(e) {
  if (e.backend && e.backend !== e.server) proxyWire(e);
  const names = ['listener:' + e.listener, 'balancer:' + e.listener, 'server:' + e.server];
  if (e.backend && e.backend !== e.server) names.push('server:' + e.backend);
  const wires = ['wire:' + e.listener, 'wire:' + e.listener + ':' + e.server];
  const els = [];
  for (const n of names) { const x = document.querySelector('[data-node="' + CSS.escape(n) + '"]'); if (x) els.push(x); }
  for (const w of wires) { const x = document.querySelector('[data-wire="' + CSS.escape(w) + '"]'); if (x) els.push(x); }
  for (const x of els) {
    x.classList.add('lit');
    x.classList.toggle('fail', failed(e));
    clearTimeout(x._unlit);
    x._unlit = setTimeout(() => x.classList.remove('lit', 'fail'), LIT_MS);
  }
}

function timeOf(e) {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(e.time || '');
  return m ? m[1] : e.time || '';
}

function addEntry(e, fresh) {
  state.entries.set(e.id, e);
  const tr = el('tr', failed(e) ? 'fail' : 'ok');
  tr.dataset.id = e.id;
  tr.dataset.server = e.server || '';
  tr.dataset.status = e.status || 0;
  tr.appendChild(el('td', null, e.id));
  tr.appendChild(el('td', null, timeOf(e)));
  tr.appendChild(el('td', null, e.listener));
  tr.appendChild(el('td', 'server', e.server || '—'));
  tr.appendChild(el('td', 'req', e.method ? e.method + ' ' + (e.host || '') + e.path : '(connection, no request)'));
  tr.appendChild(el('td', 'status', triple(e)));
  tr.appendChild(el('td', null, e.answered_by || '—'));
  tr.appendChild(el('td', null, e.user || ''));
  const why = el('td', 'why');
  for (const w of e.why || []) why.appendChild(el('div', null, w));
  tr.appendChild(why);
  if (fresh) tr.classList.add('fresh');
  const body = $('requests').tBodies[0];
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > MAX_ROWS) {
    state.entries.delete(Number(body.lastChild.dataset.id));
    body.removeChild(body.lastChild);
  }
  $('request-count').textContent = '(' + body.rows.length + ' shown, newest first; click one for its journal entry)';
  if (fresh) light(e);
}

function clearEntries() {
  const body = $('requests').tBodies[0];
  while (body.firstChild) body.removeChild(body.firstChild);
  state.entries.clear();
  $('request-count').textContent = '';
  $('detail').hidden = true;
}

function showDetail(id) {
  const e = state.entries.get(id);
  if (!e) return;
  $('detail-id').textContent = '#' + id;
  $('detail-json').textContent = JSON.stringify(e, null, 2);
  $('detail').hidden = false;
  const box = $('detail-logs');
  while (box.firstChild) box.removeChild(box.firstChild);
  box.appendChild(el('p', 'sub', 'looking…'));
  linesOf(e).then((found) => {
    if (state.shown !== id) return;
    while (box.firstChild) box.removeChild(box.firstChild);
    if (!found.length) box.appendChild(el('p', 'sub', 'none found (a request answered before IIS, or lines not written yet)'));
    for (const f of found) {
      const d = el('div', 'logfile');
      d.dataset.kind = f.kind;
      d.appendChild(el('div', 'sub', f.kind + ' · ' + f.path));
      d.appendChild(el('pre', null, f.lines.join('\n')));
      box.appendChild(d);
    }
  }).catch((err) => { box.textContent = 'log lines: ' + err.message; });
  state.shown = id;
}

/* --- log files ------------------------------------------------------------------------------ */

const LOG_DETAIL_MAX = 262144; /* bytes read from the end of each file to find a request's lines */
const LOG_LINES = 2000;

/* The lines request E left: those that carry its request id (IIS W3C, HttpProxy), and, in HTTP.sys's
 * and the balancers' logs, those of its client's address and port. */
async function linesOf(e) {
  const r = await callJson('GET', '/logs');
  const port = e.client && e.client.port ? String(e.client.port) : null;
  const out = [];
  for (const f of r.files) {
    const byPort = port && ((f.kind === 'httperr' && f.source === e.server) || f.kind === 'balancer');
    if (!e.request_id && !byPort) continue;
    const t = await callJson('GET', '/logs/tail?file=' + encodeURIComponent(f.path) + '&max=' + LOG_DETAIL_MAX);
    const lines = t.text.split(/\r?\n/).filter((l) => l && !l.startsWith('#') && (
      (e.request_id && l.includes(e.request_id)) ||
      (byPort && (f.kind === 'httperr' ? l.split(' ')[3] === port : l.includes(':' + port + ' ')))));
    if (lines.length) out.push({ path: f.path, kind: f.kind, lines });
  }
  return out;
}

const logs = { file: '', next: null, lines: [] };

async function loadLogFiles() {
  const r = await callJson('GET', '/logs');
  const sel = $('log-file');
  const have = [...sel.options].map((o) => o.value).join('\n');
  const want = r.files.map((f) => f.path).join('\n');
  if (have !== want) {
    const keep = sel.value;
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    for (const f of r.files) {
      const o = el('option', null, f.path + ' (' + f.kind + ')');
      o.value = f.path;
      sel.appendChild(o);
    }
    if (r.files.some((f) => f.path === keep)) sel.value = keep;
    else if (r.files.length) sel.value = (r.files.find((f) => f.kind === 'iis') || r.files[0]).path;
  }
}

function renderLog() {
  const q = $('log-filter').value.trim().toLowerCase();
  const shown = q ? logs.lines.filter((l) => l.startsWith('#Fields') || l.toLowerCase().includes(q)) : logs.lines;
  const pre = $('log-text');
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = shown.join('\n');
  if (atEnd) pre.scrollTop = pre.scrollHeight;
  $('log-info').textContent = logs.file ? shown.length + ' of ' + logs.lines.length + ' lines' : '';
}

/* One tail at a time: two in flight (the watch loop's and a change of file) would both ask from
 * the same offset, and the second answer, older than the first, would look like a rollover. */
let tailing = Promise.resolve();
function tailLog() {
  const next = tailing.then(tailOnce);
  tailing = next.catch(() => {});
  return next;
}

async function tailOnce() {
  const file = $('log-file').value;
  if (file !== logs.file) {
    logs.file = file;
    logs.next = null;
    logs.lines = [];
  }
  if (!file) return renderLog();
  const t = await callJson('GET', '/logs/tail?file=' + encodeURIComponent(file) +
    (logs.next !== null ? '&from=' + logs.next : ''));
  if (file !== logs.file) return;
  if (logs.next !== null && t.from < logs.next) logs.lines = []; /* the file was rolled over */
  logs.next = t.next;
  if (t.text) {
    logs.lines.push(...t.text.split(/\r?\n/).filter((l) => l));
    if (logs.lines.length > LOG_LINES) logs.lines.splice(0, logs.lines.length - LOG_LINES);
    renderLog();
  } else if (!logs.lines.length) {
    renderLog();
  }
}

async function watchLogs() {
  for (let n = 0; ; n++) {
    try {
      if (n % 3 === 0) await loadLogFiles();
      await tailLog();
    } catch (e) {
      say('logs: ' + e.message);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function watchRequests() {
  const first = await callJson('GET', '/requests?limit=' + MAX_ROWS);
  for (const e of first.requests) addEntry(e, false);
  state.since = first.next_since;
  for (;;) {
    try {
      const r = await callJson('GET', '/requests/wait?since=' + state.since + '&timeout=' + POLL_MS);
      for (const e of r.requests) if (!state.entries.has(e.id)) addEntry(e, true);
      state.since = Math.max(state.since, r.next_since);
    } catch (e) {
      say('requests: ' + e.message);
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
}

/* --- controls ------------------------------------------------------------------------------ */

async function loadScenarios() {
  const r = await callJson('GET', '/scenarios');
  const sel = $('scenario-select');
  while (sel.firstChild) sel.removeChild(sel.firstChild);
  for (const s of r.scenarios) {
    const o = el('option', null, s.name);
    o.value = s.name;
    o.title = s.summary;
    sel.appendChild(o);
  }
  if ([...sel.options].some((o) => o.value === r.current)) sel.value = r.current;
}

async function switchScenario(ev) {
  ev.preventDefault();
  const name = $('scenario-select').value;
  say('switching to ' + name + '…', true);
  try {
    await callJson('PUT', '/scenario', { name });
    await loadTopology();
    say('now serving ' + name, true);
  } catch (e) {
    say('switch failed: ' + e.message + (e.details ? ': ' + e.details.join('; ') : ''));
  }
}

async function reset() {
  try {
    await callJson('POST', '/reset');
    clearEntries();
    await loadTopology();
    say('reset: journal, counters and sessions forgotten', true);
  } catch (e) {
    say('reset failed: ' + e.message);
  }
}

async function downloadCa() {
  try {
    const r = await call('GET', '/ca');
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const url = URL.createObjectURL(await r.blob());
    const a = el('a');
    a.href = url;
    a.download = 'mrsmock-lab-ca.crt';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say('lab CA downloaded (mrsmock-lab-ca.crt)', true);
  } catch (e) {
    say('CA: ' + e.message);
  }
}

async function main() {
  takeToken();
  $('controls').addEventListener('submit', switchScenario);
  $('reset').addEventListener('click', reset);
  $('download-ca').addEventListener('click', downloadCa);
  $('detail-close').addEventListener('click', () => { $('detail').hidden = true; });
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') $('detail').hidden = true; });
  $('requests').tBodies[0].addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr) showDetail(Number(tr.dataset.id));
  });
  window.addEventListener('resize', drawWires);
  try {
    await loadTopology();
    await loadScenarios();
    document.body.dataset.ready = 'true';
  } catch (e) {
    say(e.message);
  }
  $('log-filter').addEventListener('input', renderLog);
  $('log-file').addEventListener('change', () => { tailLog().catch((e) => say('logs: ' + e.message)); });
  watchTopology();
  watchLogs();
  watchRequests().catch((e) => say('requests: ' + e.message));
}

main();
