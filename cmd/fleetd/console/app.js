// The fleet console: calls the admin API through the console's session
// (fleetd forwards /console/api/admin/v1/… to the admin API's handlers).
'use strict';

const state = { csrf: '', org: '', rooms: [], loaded: 0 };
window.fleetConsole = state; // for tests and the curious

const $ = (id) => document.getElementById(id);
const api = (path) => 'api/' + path;
const admin = (path) => 'api/admin/v1/' + path;

async function call(method, url, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-CSRF-Token'] = state.csrf;
    opts.body = JSON.stringify(body === undefined ? {} : body);
  }
  const r = await fetch(url, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (r.status === 401 && !url.endsWith('/login')) { show('login'); }
  if (!r.ok) {
    const msg = (data && data.error) || (r.status + ' ' + r.statusText);
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return data;
}

function show(view) {
  document.body.dataset.view = view;
  $('login-view').hidden = view !== 'login';
  $('console-view').hidden = view !== 'console';
  $('bar').hidden = view !== 'console';
  if (view === 'login') { $('token').focus(); }
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  if (cls) { e.className = cls; }
  return e;
}

function ago(iso) {
  if (!iso) { return 'never'; }
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 0) { return 'just now'; }
  if (s < 90) { return s + ' s ago'; }
  if (s < 5400) { return Math.round(s / 60) + ' min ago'; }
  if (s < 172800) { return Math.round(s / 3600) + ' h ago'; }
  return Math.round(s / 86400) + ' days ago';
}

function quality(q) {
  if (!q) { return '—'; }
  let t = q.calls + (q.calls === 1 ? ' call' : ' calls');
  if (q.calls > 0) { t += ', RTT ' + q.avg_rtt_ms + ' ms, loss ' + q.avg_loss_pct.toFixed(1) + ' %'; }
  if (q.reconnects) { t += ', ' + q.reconnects + ' reconnects'; }
  return t;
}

function sensors(e) {
  if (!e) { return '—'; }
  const parts = [];
  if (e.temperature_c !== undefined) { parts.push(e.temperature_c.toFixed(1) + ' °C'); }
  if (e.humidity_pct !== undefined) { parts.push(e.humidity_pct.toFixed(0) + ' % RH'); }
  if (e.occupied !== undefined) { parts.push(e.occupied ? 'occupied' : 'empty'); }
  return parts.length ? parts.join(', ') : '—';
}

function hardware(h) {
  if (!h) { return ['—', '']; }
  const names = Object.keys(h).sort();
  const failed = names.filter((n) => h[n].startsWith('failed'));
  if (failed.length) { return [failed.map((n) => n + ': ' + h[n]).join('; '), 'bad']; }
  return [names.length + ' loaded or skipped', ''];
}

function renderRooms(devices) {
  const body = $('rooms').querySelector('tbody');
  body.replaceChildren();
  const ids = new Set();
  for (const d of devices) {
    ids.add(d.room);
    const rep = d.report || null;
    const tr = el('tr');
    tr.dataset.device = d.id;
    tr.dataset.state = d.state;
    tr.append(el('td', d.room));
    const dev = el('td', d.id, 'id');
    dev.title = 'key ' + d.fingerprint + (d.serial ? ', serial ' + d.serial : '');
    tr.append(dev);
    const st = el('td');
    st.append(el('span', d.state, 'badge ' + d.state));
    tr.append(st);
    tr.append(el('td', rep ? rep.software : '—'));
    tr.append(el('td', ago(d.report_at)));
    const cfg = el('td', 'v' + d.config_version + (rep && rep.config_version !== d.config_version ? ' (room on v' + rep.config_version + ')' : ''));
    if (rep && rep.config_stale) { cfg.textContent += ' stale'; cfg.className = 'stale'; }
    tr.append(cfg);
    tr.append(el('td', quality(rep && rep.call_quality)));
    tr.append(el('td', sensors(rep && rep.environment)));
    const [hw, cls] = hardware(rep && rep.hardware);
    tr.append(el('td', hw, cls));
    const act = el('td');
    if (d.state === 'pending') {
      const b = el('button', 'Approve');
      b.type = 'button';
      b.className = 'approve';
      b.addEventListener('click', () => approve(d, b));
      act.append(b);
    }
    tr.append(act);
    body.append(tr);
  }
  $('no-rooms').hidden = devices.length > 0;
  const list = $('room-ids');
  list.replaceChildren(...[...ids].sort().map((id) => { const o = el('option'); o.value = id; return o; }));
}

async function refresh() {
  const org = $('org').value.trim();
  if (!org) { return; }
  state.org = org;
  localStorage.setItem('fleetd.org', org);
  try {
    const devices = await call('GET', admin('orgs/' + encodeURIComponent(org) + '/health'));
    state.rooms = devices;
    renderRooms(devices);
    $('rooms-error').textContent = '';
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    state.loaded++;
  } catch (e) {
    $('rooms-error').textContent = e.message;
  }
}

async function approve(d, button) {
  button.disabled = true;
  try {
    await call('POST', admin('devices/' + encodeURIComponent(d.id) + '/approve'));
    $('rooms-error').textContent = '';
  } catch (e) {
    $('rooms-error').textContent = e.message;
  }
  await refresh();
}

async function issueCode(ev) {
  ev.preventDefault();
  $('code-error').textContent = '';
  $('code-result').hidden = true;
  const room = $('code-room').value.trim();
  const body = { ttl_seconds: Math.round(Number($('code-hours').value) * 3600), require_approval: $('code-approval').checked };
  try {
    const c = await call('POST', admin('orgs/' + encodeURIComponent(state.org) + '/rooms/' + encodeURIComponent(room) + '/codes'), body);
    $('code-value').textContent = c.code;
    $('code-expires').textContent = new Date(c.expires_at).toLocaleString();
    $('code-result').hidden = false;
  } catch (e) {
    $('code-error').textContent = e.message;
  }
}

async function pushConfig(ev) {
  ev.preventDefault();
  $('config-error').textContent = '';
  $('config-result').textContent = '';
  const room = $('config-room').value.trim();
  let cfg;
  try {
    cfg = JSON.parse($('config-json').value);
  } catch (e) {
    $('config-error').textContent = 'not JSON: ' + e.message;
    return;
  }
  try {
    await call('PUT', admin('orgs/' + encodeURIComponent(state.org) + '/rooms/' + encodeURIComponent(room) + '/config'), cfg);
    $('config-result').textContent = 'Signed as the next version for every device of ' + room + '; rooms apply it at their next poll.';
  } catch (e) {
    $('config-error').textContent = e.message;
  }
  await refresh();
}

async function login(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const s = await call('POST', api('login'), { token: $('token').value });
    $('token').value = '';
    await start(s);
  } catch (e) {
    $('login-error').textContent = e.message;
  }
}

async function logout() {
  try { await call('POST', api('logout')); } catch (e) { /* signed out anyway */ }
  const s = await call('GET', api('session'));
  state.csrf = s.csrf;
  show('login');
}

async function start(s) {
  state.csrf = s.csrf;
  if (!s.signed_in) { show('login'); return; }
  $('org').value = localStorage.getItem('fleetd.org') || s.org;
  show('console');
  await refresh();
}

document.addEventListener('DOMContentLoaded', async () => {
  $('login-form').addEventListener('submit', login);
  $('code-form').addEventListener('submit', issueCode);
  $('config-form').addEventListener('submit', pushConfig);
  $('refresh').addEventListener('click', refresh);
  $('org').addEventListener('change', refresh);
  $('logout').addEventListener('click', logout);
  setInterval(() => { if (document.body.dataset.view === 'console') { refresh(); } }, 15000);
  await start(await call('GET', api('session')));
});
