// roomd touch panel. It shows only what roomd reports (the status tree of
// the control vocabulary) and sends commands of the same vocabulary; a
// button never changes its look because it was pressed, only because the
// room reported the new state.
'use strict';

const $ = (id) => document.getElementById(id);
const S = {
  session: null,     // GET /api/session
  status: {},        // status path -> value
  config: {},        // configuration path -> value
  ws: null,
  connected: false,
  nextID: 1,
  pending: new Map(), // id -> {resolve}
  settings: false,   // the settings screen is open
  admin: false,
  tab: 'fleet',
  pin: '',
  pairCode: '',
  lastInfo: null,
  busy: new Set(),   // controls waiting for the room to answer
};
window.panel = S; // for tests and the curious

const st = (p) => S.status[p] ?? '';
const cfg = (p) => S.config[p] ?? '';

// ---- API ----------------------------------------------------------------

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-CSRF-Token'] = S.session ? S.session.csrf : '';
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  let j = {};
  try { j = await r.json(); } catch (e) { /* empty */ }
  if (!r.ok) { const err = new Error(j.error || r.statusText); err.status = r.status; throw err; }
  return j;
}

function command(cmd, args, control) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
    toast('Not connected to the room', true);
    return Promise.resolve({ ok: false });
  }
  const id = String(S.nextID++);
  if (control) { S.busy.add(control); render(); }
  return new Promise((resolve) => {
    S.pending.set(id, (res) => {
      if (control) { S.busy.delete(control); render(); }
      if (!res.ok) toast(refusal(res), true);
      resolve(res);
    });
    S.ws.send(JSON.stringify({ type: cmd === 'retry' ? 'retry' : 'command', id, command: cmd === 'retry' ? undefined : cmd, args }));
  });
}

function refusal(res) {
  if (res.reason === 'NotAllowed') return 'Not allowed from this panel: ' + res.error.replace(/^not allowed from this surface: /, '');
  return res.error || 'The room refused';
}

async function start() {
  try {
    S.session = await api('GET', '/api/session');
  } catch (e) {
    setOffline('Cannot reach roomd; retrying…');
    setTimeout(start, 2000);
    return;
  }
  if (S.session.access === 'remote' && !S.session.paired) {
    S.connected = true;
    document.body.classList.remove('offline');
    render();
    return;
  }
  connect();
}

function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/ws');
  S.ws = ws;
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    switch (m.type) {
      case 'hello':
        S.connected = true;
        document.body.classList.remove('offline');
        break;
      case 'status':
        if (m.initial) { S.status = {}; S.config = {}; }
        Object.assign(S.status, m.status || {});
        for (const g of m.gone || []) delete S.status[g];
        Object.assign(S.config, m.config || {});
        break;
      case 'event':
        onEvent(m);
        break;
      case 'result': {
        const f = S.pending.get(m.id);
        if (f) { S.pending.delete(m.id); f(m); }
        break;
      }
      case 'pairing':
        showPairing(m.code, m.until);
        break;
      case 'revoked':
        S.revoked = true;
        break;
    }
    render();
  };
  ws.onclose = () => {
    S.connected = false;
    for (const f of S.pending.values()) f({ ok: false, error: 'connection to the room lost' });
    S.pending.clear();
    if (S.revoked) { S.revoked = false; S.session = null; S.status = {}; start(); return; }
    setOffline('Connection to roomd lost; reconnecting…');
    setTimeout(start, 1000);
  };
}

function setOffline(msg) {
  S.connected = false;
  S.offlineMsg = msg;
  document.body.classList.add('offline');
  render();
}

function onEvent(m) {
  // The call screen shows failures itself; only a failure while another
  // screen is open needs a note.
  if (m.name === 'CallFailed' && screen() !== 'call') toast('Call failed: ' + (m.fields.Reason || 'unknown reason'), true);
  if (m.name === 'IncomingCallCancelled') toast('Missed call' + (S.ringing ? ' from ' + S.ringing : ''));
}

let toastTimer;
function toast(msg, bad) {
  const t = $('toast');
  t.textContent = msg;
  t.classList.toggle('bad', !!bad);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4500);
}

// ---- Rendering ----------------------------------------------------------

const fmtTime = (iso) => iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';

function screen() {
  if (S.session && S.session.access === 'remote' && !S.session.paired) return 'pair';
  if (S.settings) return 'settings';
  const c = st('Call State');
  if (c && c !== 'Idle') return 'call';
  return S.session ? 'home' : 'loading';
}

function render() {
  const scr = screen();
  document.body.dataset.screen = scr;
  for (const s of ['home', 'call', 'settings', 'pair']) $('screen-' + s).hidden = s !== scr;
  $('btn-settings').hidden = scr === 'pair' || scr === 'loading';
  $('room-name').textContent = st('SystemUnit Name') || (scr === 'pair' ? 'Room panel' : 'Room');
  $('room-sub').textContent = subtitle();
  renderBanners();
  if (scr === 'home') renderHome();
  if (scr === 'call') renderCall();
  if (scr === 'settings') renderSettings();
  if (scr === 'pair') renderPair();
  if (scr !== 'home') $('dial-sheet').hidden = true;
  renderDirectory();
  renderShared();
  renderIncoming(scr);
  renderDTMF();
}

function subtitle() {
  if (!S.connected) return S.offlineMsg || 'Connecting…';
  if (!S.session) return '';
  if (S.session.access === 'remote') return S.session.paired ? 'Paired panel' : 'Not paired';
  return { InCall: 'In a meeting', Joining: 'Joining…', Reconnecting: 'Reconnecting…', Leaving: 'Leaving…', Failed: 'Call failed' }[st('Call State')] || 'Ready';
}

function renderBanners() {
  const b = [];
  if (!S.connected && S.offlineMsg) b.push(['bad', S.offlineMsg]);
  const stale = st('Schedule StaleSince');
  if (stale) b.push(['', 'Calendar unreachable since ' + fmtTime(stale) + ' — showing the last copy']);
  if (st('Provisioning Stale') === 'True') b.push(['', 'Fleet server unreachable — the room keeps its configuration']);
  const failed = failedDevices();
  const media = failed.filter((d) => /camera|microphone|speaker|display|audio|video/i.test(d.kind + ' ' + d.name));
  for (const d of media) b.push(['bad', label(d.name) + ' unavailable' + (d.reason ? ': ' + d.reason : '')]);
  if (failed.length > media.length) b.push(['', (failed.length - media.length) + ' device(s) failed — see Settings']);
  if (st('Audio Microphones HardwareSwitch') === 'On') b.push(['', 'Microphones muted by the hardware switch']);
  if (/^(Previous|Damaged)$/.test(st('SystemUnit SavedState Restored')) && (st('Audio Microphones Mute') === 'On' || st('Video Camera Privacy') === 'On')) {
    b.push(['bad', 'The saved room state could not be read: microphones muted and camera private until someone in the room opens them']);
  }
  const key = JSON.stringify(b);
  if (key === renderBanners.last) return;
  renderBanners.last = key;
  const box = $('banners');
  box.replaceChildren(...b.map(([cls, text]) => {
    const d = document.createElement('div');
    d.className = 'banner ' + cls;
    d.innerHTML = '<svg><use href="#i-warn"/></svg>';
    d.append(document.createTextNode(text));
    return d;
  }));
}

function devices() {
  const out = {};
  for (const [p, v] of Object.entries(S.status)) {
    const m = p.match(/^Hardware Device (\S+) (Kind|State|Reason)$/);
    if (!m) continue;
    (out[m[1]] = out[m[1]] || { name: m[1] })[m[2].toLowerCase()] = v;
  }
  return Object.values(out).sort((a, b) => a.name.localeCompare(b.name));
}
const failedDevices = () => devices().filter((d) => d.state === 'Failed');
const label = (n) => {
  const s = n.replace(/_/g, ' ').replace(/\bled\b/gi, 'LED').replace(/\bpir\b/gi, 'PIR').replace(/^bme/i, 'BME');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

function meetings() {
  const out = [];
  for (let i = 1; st('Schedule Next ' + i + ' Id') || st('Schedule Next ' + i + ' Start'); i++) {
    const p = 'Schedule Next ' + i + ' ';
    out.push({ id: st(p + 'Id'), title: st(p + 'Title'), start: st(p + 'Start'), end: st(p + 'End'), joinable: st(p + 'Joinable') === 'True', why: st(p + 'Why') });
  }
  return out;
}

function renderHome() {
  const offerID = st('Call JoinOffer Id');
  const list = meetings();
  const key = JSON.stringify([offerID, st('Call JoinOffer Title'), list, Math.floor(Date.now() / 60000)]);
  if (key !== renderHome.last) {
    renderHome.last = key;
    const offer = $('offer');
    offer.hidden = !offerID;
    if (offerID) {
      const m = list.find((x) => x.id === offerID) || { title: st('Call JoinOffer Title'), start: st('Call JoinOffer Start') };
      offer.replaceChildren(meetingInfo(m, true), joinButton());
    }
    const rows = list.filter((m) => m.id !== offerID).map((m) => {
      const row = document.createElement('div');
      row.className = 'meeting';
      row.append(timeCell(m), meetingInfo(m, false));
      return row;
    });
    if (!rows.length && !offerID) {
      const e = document.createElement('div');
      e.className = 'empty';
      e.textContent = 'No more meetings today. Join one by its link.';
      rows.push(e);
    }
    $('next-list').replaceChildren(...rows);
  }
}

function timeCell(m) {
  const d = document.createElement('div');
  d.className = 'm-time';
  d.textContent = m.start ? fmtTime(m.start) : 'Any time';
  if (m.end) { const s = document.createElement('span'); s.className = 'sub'; s.textContent = 'to ' + fmtTime(m.end); d.append(s); }
  return d;
}

function meetingInfo(m, offered) {
  const d = document.createElement('div');
  d.className = 'm-info';
  const now = Date.now();
  const live = m.start && new Date(m.start) <= now && (!m.end || new Date(m.end) > now);
  const tag = document.createElement('div');
  tag.className = 'tag';
  tag.textContent = live ? 'Now' : offered ? 'Starting soon · ' + fmtTime(m.start) : '';
  if (tag.textContent) d.append(tag);
  const t = document.createElement('div');
  t.className = 'm-title';
  t.textContent = m.title || 'Meeting';
  d.append(t);
  if (!offered) {
    const n = document.createElement('div');
    n.className = 'm-note';
    n.textContent = m.joinable ? 'Join opens a few minutes before the start' : m.why ? 'Cannot join from this room: ' + m.why : 'Cannot be joined from this room';
    n.classList.toggle('why', !m.joinable && !!m.why);
    d.append(n);
  }
  return d;
}

function joinButton() {
  const b = document.createElement('button');
  b.className = 'btn join';
  b.id = 'btn-join-offer';
  b.textContent = 'Join';
  b.onclick = () => command('Call JoinOffered', {}, 'join');
  return b;
}

function renderCall() {
  const c = st('Call State');
  const pill = $('call-state');
  pill.dataset.state = c;
  pill.textContent = { InCall: 'In call', Joining: 'Joining…', Reconnecting: 'Reconnecting…', Leaving: 'Leaving…', Failed: 'Call failed' }[c] || c;
  $('call-name').textContent = S.lastTitle = (st('Call MeetingId') && titleOf(st('Call MeetingId'))) || S.lastTitle || 'Meeting';
  const end = st('Call End');
  $('call-until').textContent = end ? 'Until ' + fmtTime(end) : '';
  const prob = $('call-problem');
  prob.hidden = !(c === 'Reconnecting' || c === 'Failed' || c === 'Joining');
  prob.classList.toggle('bad', c === 'Failed');
  $('cp-title').textContent = c === 'Failed' ? 'The call could not continue' : c === 'Joining' ? 'Joining the meeting…' : 'Connection lost — reconnecting…';
  $('cp-reason').textContent = st('Call Reason') || (c === 'Joining' ? 'This takes a few seconds.' : '');
  $('btn-retry').hidden = c !== 'Failed';
  $('btn-dismiss').hidden = c !== 'Failed';
  $('participants').textContent = st('Call Participants') || '0';
  const q = quality();
  $('quality').textContent = q.label;
  $('quality').dataset.quality = q.level;
  $('quality-detail').textContent = q.detail;
  const enc = encryption();
  $('call-protocol').textContent = st('Call Protocol') || 'Call';
  $('encryption').textContent = enc.label;
  $('encryption').dataset.encrypted = enc.level;
  $('encryption').title = st('Call Encryption');
  // The lock only for media nobody between the rooms can read: every sent
  // track encrypted end to end and every received one decrypting.
  $('encryption-lock').style.visibility = enc.level === 'e2e' ? 'visible' : 'hidden';
  kv($('received'), c === 'InCall' ? received().map((r) => [r.name, r.detail]) : []);
  const n = parseInt(cfg('Video Camera Presets') || '0', 10);
  const active = st('Video Camera Preset');
  const pr = $('presets');
  if (pr.childElementCount !== n) {
    pr.replaceChildren(...Array.from({ length: n }, (_, i) => {
      const b = document.createElement('button');
      b.className = 'btn';
      b.textContent = String(i + 1);
      b.setAttribute('aria-label', 'Camera preset ' + (i + 1));
      b.onclick = () => command('Video Camera Preset Activate', { PresetId: i + 1 }, 'preset');
      return b;
    }));
  }
  [...pr.children].forEach((b, i) => b.classList.toggle('active', String(i + 1) === active));
  pr.parentElement.hidden = n === 0;
  $('leave').disabled = c === 'Leaving' || c === 'Failed';
}

function titleOf(id) {
  if (id === st('Call MeetingId') && S.joinTitle && S.joinTitle.id === id) return S.joinTitle.title;
  for (const m of meetings()) if (m.id === id) return m.title;
  if (/^sips?:/i.test(id)) return id.replace(/^sips?:/i, '');
  if (/^[a-z+]+:\/\//i.test(id)) { try { return new URL(id.replace(/^[a-z]+\+/i, '')).host; } catch (e) { return id; } }
  return id;
}

// rate writes bit/s (a status value) for people; '' for none.
function rate(bps) {
  const kbps = Math.round(parseInt(bps || '0', 10) / 1000);
  if (!kbps) return '';
  return kbps >= 1000 ? (kbps / 1000).toFixed(1) + ' Mbit/s' : kbps + ' kbit/s';
}

// received lists the video roomd receives from each other participant
// (Call Receive N …), in status order.
function received() {
  const out = [];
  for (let i = 1; ('Call Receive ' + i + ' Participant') in S.status; i++) {
    const p = 'Call Receive ' + i + ' ';
    const w = parseInt(st(p + 'Width') || '0', 10), h = parseInt(st(p + 'Height') || '0', 10);
    const parts = [w && h ? w + 'x' + h + ' @ ' + (st(p + 'Fps') || '0') + ' fps' : 'No video yet'];
    const r = rate(st(p + 'Bitrate'));
    if (r) parts.push(r);
    // The engine tells feeds of the same name apart with "#id"; people need not see it.
    out.push({ name: st(p + 'Participant').replace(/#\d+$/, '') || 'Participant ' + i, detail: parts.join(' · ') });
  }
  return out;
}

// encryption is the lock mark of the call: "End-to-end encrypted" (and
// the lock) when every frame sent and received is end-to-end encrypted,
// "Cannot decrypt" when someone's frames do not decrypt (status names
// them after "; cannot decrypt: "), "Encrypted" for media encrypted to the
// server (DTLS-SRTP, SDES-SRTP), "Not encrypted" for plain media, "–"
// outside a call.
function encryption() {
  const e = st('Call Encryption');
  if (!e || st('Call State') !== 'InCall') return { label: '–', level: '' };
  if (e === 'none') return { label: 'Not encrypted', level: 'no' };
  if (e.startsWith('end-to-end')) {
    if (e.includes('; cannot decrypt: ')) return { label: 'Cannot decrypt', level: 'no' };
    return { label: 'End-to-end encrypted', level: 'e2e' };
  }
  return { label: 'Encrypted', level: 'yes' };
}

function quality() {
  if (st('Call State') !== 'InCall') return { label: '–', level: '', detail: '' };
  const loss = parseFloat(st('Call LossPercent') || '0');
  const rtt = parseInt(st('Call RoundTripMillis') || '0', 10);
  const level = loss < 2 && rtt < 250 ? 'good' : loss < 8 && rtt < 500 ? 'fair' : 'poor';
  const parts = [];
  const sent = rate(st('Call SendBitrate'));
  if (sent) parts.push(sent);
  if (rtt) parts.push(rtt + ' ms');
  parts.push(loss.toFixed(1) + ' % loss');
  if (st('Call SendResolution')) parts.push(st('Call SendResolution') + ' @ ' + st('Call SendFps') + ' fps');
  return { label: { good: 'Good', fair: 'Fair', poor: 'Poor' }[level], level, detail: parts.join(' · ') };
}

// set changes a property only when it differs, so frequent status updates
// (call figures) cost the page nothing where nothing changed.
function setText(el, v) { if (el.textContent !== v) el.textContent = v; }
function setData(el, k, v) { if (el.dataset[k] !== v) el.dataset[k] = v; }

// Controls shared by home and call: their look follows the reported state.
function renderShared() {
  const muted = st('Audio Microphones Mute') === 'On';
  const sw = st('Audio Microphones HardwareSwitch') === 'On';
  for (const id of ['mute', 'home-mute']) {
    const b = $(id);
    setData(b, 'muted', String(muted));
    b.querySelector('use').setAttribute('href', muted ? '#i-mic-off' : '#i-mic');
    setText(b.querySelector('.t-label'), sw ? 'Muted by switch' : muted ? 'Muted' : 'Mic on');
    const hint = b.querySelector('.t-hint');
    if (hint) setText(hint, sw ? 'Release the switch' : muted ? 'Tap to unmute' : 'Tap to mute');
    b.disabled = sw;
    b.classList.toggle('busy', S.busy.has('mute'));
  }
  const priv = st('Video Camera Privacy') === 'On';
  for (const id of ['privacy', 'home-privacy']) {
    const b = $(id);
    setData(b, 'privacy', String(priv));
    b.querySelector('use').setAttribute('href', priv ? '#i-cam-off' : '#i-cam');
    setText(b.querySelector('.t-label'), priv ? 'Camera off' : 'Camera on');
    const hint = b.querySelector('.t-hint');
    if (hint) setText(hint, priv ? 'Tap to show' : 'Tap to hide');
    b.classList.toggle('busy', S.busy.has('privacy'));
  }
  const vol = st('Audio Volume') || '0';
  for (const v of document.querySelectorAll('[data-volume]')) {
    setData(v, 'volume', vol);
    setText(v.querySelector('.vol-num'), vol);
    v.style.setProperty('--vol', Math.max(0, Math.min(100, parseInt(vol, 10) || 0)) + '%');
  }
}

// ---- Settings -----------------------------------------------------------

function renderSettings() {
  $('pin-view').hidden = S.admin;
  $('settings-view').hidden = !S.admin;
  if (!S.admin) {
    $('pin-dots').replaceChildren(...Array.from({ length: Math.max(4, S.pin.length) }, (_, i) => {
      const s = document.createElement('span');
      if (i < S.pin.length) s.className = 'on';
      return s;
    }));
    return;
  }
  for (const t of document.querySelectorAll('.tab[data-tab]')) t.classList.toggle('active', t.dataset.tab === S.tab);
  for (const p of document.querySelectorAll('[data-pane]')) p.hidden = p.dataset.pane !== S.tab;
  const prov = st('Provisioning State');
  kv($('fleet-kv'), [
    ['State', { Unenrolled: 'Standalone (not enrolled)', Pending: 'Waiting for approval', Enrolled: 'Enrolled', Failed: 'Failed — see Detail', Revoked: 'Revoked by the fleet' }[prov] || prov],
    ...(st('Provisioning Since') ? [['Since', new Date(st('Provisioning Since')).toLocaleString()]] : []),
    ['Server', st('Provisioning Stale') === 'True' ? 'Unreachable — keeping the last configuration' : prov === 'Enrolled' ? 'Reachable' : '—'],
    ['Configuration', st('Provisioning ConfigVersion') !== '0' ? 'version ' + st('Provisioning ConfigVersion') : 'local file'],
    ['Detail', st('Provisioning Detail') || '—'],
    ['Software', st('SystemUnit Software Version') + ' · protocol ' + st('SystemUnit ProtocolVersion')],
    ['Saved state', { None: 'Nothing saved yet', Saved: 'Restored', Repaired: 'Repaired', Previous: 'Damaged — previous state used', Damaged: 'Damaged — settings from the configuration' }[st('SystemUnit SavedState Restored')] + (st('SystemUnit SavedState Detail') ? ': ' + st('SystemUnit SavedState Detail') : '')],
    ...damagedFiles().map((f) => ['Damaged file', f.name + ' — set aside ' + new Date(f.since).toLocaleString() + '; look at it, then delete it']),
  ]);
  $('enroll-box').hidden = prov === 'Enrolled';
  const hw = devices();
  const hwKey = JSON.stringify(hw);
  if (hwKey !== renderSettings.hw) {
    renderSettings.hw = hwKey;
    $('hw-list').replaceChildren(...hw.map((d) => item(label(d.name), d.kind + (d.reason ? ' — ' + d.reason : ''), d.state)));
  }
  const info = S.lastInfo;
  if (info && info !== renderSettings.info) {
    renderSettings.info = info;
    $('net-list').replaceChildren(...(info.network.length ? info.network.map((n) => item(n.name, n.addresses.join(', ') || 'no address', n.up ? 'up' : 'down')) : [note('No network interfaces')]));
    $('remote-note').textContent = info.remoteEnabled ? 'Tablets pair with a code shown on this panel.' : 'Remote panels are off (panel.remote_listen is not set).';
    $('btn-pair').hidden = !info.remoteEnabled || S.session.access !== 'kiosk';
    $('panel-list').replaceChildren(...(info.panels.length ? info.panels.map((p) => {
      const row = item(p.name + ' (' + p.id + ')', 'paired ' + new Date(p.created).toLocaleDateString() + (p.online ? ' · online' : ''), null);
      const b = document.createElement('button');
      b.className = 'btn danger-outline';
      b.textContent = 'Revoke';
      b.onclick = () => revoke(p.id);
      row.append(b);
      return row;
    }) : [note('No tablets are paired.')]));
    $('btn-revoke-all').hidden = !info.panels.length;
    $('log-lines').textContent = info.logs.join('\n') || 'No log lines yet.';
  }
}

// damagedFiles lists the files roomd found damaged and set aside in its
// state directory, newest first.
function damagedFiles() {
  const out = [];
  for (let i = 1; ('SystemUnit DamagedFile ' + i + ' Name') in S.status; i++) {
    out.push({ name: st('SystemUnit DamagedFile ' + i + ' Name'), since: st('SystemUnit DamagedFile ' + i + ' Since') });
  }
  return out;
}

function kv(dl, rows) {
  const key = JSON.stringify(rows);
  if (dl.dataset.key === key) return;
  dl.dataset.key = key;
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    return [dt, dd];
  }));
}

function item(title, sub, badge) {
  const row = document.createElement('div');
  row.className = 'item';
  const g = document.createElement('div');
  g.className = 'grow';
  const t = document.createElement('div'); t.textContent = title;
  const s = document.createElement('div'); s.className = 'sub'; s.textContent = sub;
  g.append(t, s);
  row.append(g);
  if (badge) { const b = document.createElement('span'); b.className = 'badge ' + badge.toLowerCase(); b.textContent = badge; row.append(b); }
  return row;
}
function note(text) { const d = document.createElement('div'); d.className = 'empty'; d.textContent = text; return d; }

async function loadInfo() {
  try {
    S.lastInfo = await api('GET', '/api/admin/info');
  } catch (e) {
    if (e.status === 401) S.admin = false;
  }
  render();
}

async function revoke(id) {
  try { await api('POST', '/api/admin/revoke', { id }); toast(id === 'all' ? 'All tablets revoked' : 'Tablet revoked'); } catch (e) { toast(e.message, true); }
  loadInfo();
}

function keypad(el, onKey, keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'del', '0', 'ok']) {
  el.replaceChildren(...keys.map((k) => {
    const b = document.createElement('button');
    b.className = 'key' + (k === 'ok' ? ' ok' : '');
    b.dataset.key = k;
    b.textContent = k === 'del' ? '⌫' : k === 'ok' ? 'OK' : k;
    if (k === 'del') b.setAttribute('aria-label', 'Delete');
    b.onclick = () => onKey(k);
    return b;
  }));
}

async function pinKey(k) {
  if (k === 'del') S.pin = S.pin.slice(0, -1);
  else if (k === 'ok') {
    const pin = S.pin;
    S.pin = '';
    try {
      await api('POST', '/api/admin/login', { pin });
      S.admin = true;
      $('pin-error').textContent = '';
      loadInfo();
    } catch (e) {
      $('pin-error').textContent = e.message;
    }
  } else if (S.pin.length < 16) S.pin += k;
  render();
}

function openSettings() {
  S.settings = true;
  S.pin = '';
  $('pin-error').textContent = '';
  if (S.admin) loadInfo();
  render();
}

async function closeSettings() {
  S.settings = false;
  if (S.admin) { S.admin = false; api('POST', '/api/admin/logout', {}).catch(() => {}); }
  render();
}

// ---- Calling (SIP) ------------------------------------------------------

// sipURI turns what someone typed into the SIP address to dial: a sip: or
// sips: link as it is, anything else (room@host, a number) as sip:….
function sipURI(addr) {
  addr = addr.trim();
  if (!addr) return '';
  return /^sips?:/i.test(addr) ? addr : 'sip:' + addr;
}

// renderIncoming shows the call ringing the room (Call Incoming …) with
// Accept and Decline, on the kiosk and on paired tablets alike.
function renderIncoming(scr) {
  const id = st('Call Incoming Id');
  const sheet = $('incoming-sheet');
  const show = !!id && scr !== 'pair' && scr !== 'loading';
  sheet.hidden = !show;
  if (!show) return;
  const uri = st('Call Incoming RemoteUri');
  S.ringing = st('Call Incoming DisplayName') || uri.replace(/^sips?:/i, '') || 'an unknown caller';
  setText($('incoming-name'), S.ringing);
  setText($('incoming-uri'), uri);
  // Answered from outside the room, the room joins muted and private.
  setText($('incoming-note'), S.session && S.session.access === 'remote' ? 'Answered from this tablet, the call starts with the room\u2019s microphones muted and camera off.' : '');
  for (const b of [$('btn-incoming-accept'), $('btn-incoming-decline')]) b.disabled = S.busy.has('incoming');
}

function answer(accept) {
  const id = st('Call Incoming Id');
  if (!id) return;
  if (accept) S.joinTitle = { id: 'incoming-' + id, title: st('Call Incoming DisplayName') || st('Call Incoming RemoteUri').replace(/^sips?:/i, '') };
  command(accept ? 'Call Accept' : 'Call Reject', { Id: id }, 'incoming');
}

// renderDTMF offers the keypad only in a connected call.
function renderDTMF() {
  const inCall = st('Call State') === 'InCall';
  $('btn-keypad').hidden = !inCall;
  if (!inCall) S.dtmf = null;
  $('dtmf-sheet').hidden = S.dtmf === null || S.dtmf === undefined;
  if (!$('dtmf-sheet').hidden) setText($('dtmf-sent'), S.dtmf.slice(-24) || '\u00a0');
}

function dtmfKey(k) {
  command('Call DTMFSend', { Digits: k }).then((r) => {
    if (r.ok && S.dtmf !== null && S.dtmf !== undefined) { S.dtmf += k; render(); }
  });
}

function dialKey(k) {
  const a = $('dial-addr');
  a.value = k === 'del' ? a.value.slice(0, -1) : a.value + k;
}

function dial() {
  const uri = sipURI($('dial-addr').value);
  if (!uri) { toast('Type a SIP address or a number first', true); return; }
  callURI(uri, uri.replace(/^sips?:/i, ''));
}

// callURI joins a SIP address through Call Join, naming the call title.
function callURI(uri, title) {
  S.joinTitle = { id: uri, title };
  command('Call Join', { Uri: uri }, 'join').then((r) => {
    if (r.ok) { $('dial-addr').value = ''; $('dial-sheet').hidden = true; }
  });
}

// renderDirectory lists the fleet's rooms ("Directory Entry N") in the
// Call sheet; a tap calls the room.
function renderDirectory() {
  const rooms = [];
  for (let i = 1; ('Directory Entry ' + i + ' Uri') in S.status; i++) {
    rooms.push({ name: st('Directory Entry ' + i + ' Name'), uri: st('Directory Entry ' + i + ' Uri') });
  }
  const key = JSON.stringify(rooms);
  if (S.directoryKey === key) return;
  S.directoryKey = key;
  const ul = $('dial-rooms');
  ul.textContent = '';
  for (const r of rooms) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.className = 'btn room-entry';
    b.dataset.uri = r.uri;
    b.textContent = r.name;
    b.onclick = () => callURI(r.uri, r.name);
    li.appendChild(b);
    ul.appendChild(li);
  }
  $('dial-rooms-box').hidden = rooms.length === 0;
}

const phoneKeys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

// ---- Pairing ------------------------------------------------------------

let pairTimer;
function showPairing(code, until) {
  const m = $('pair-modal');
  if (!code || S.session.access !== 'kiosk') { m.hidden = true; return; }
  $('pair-code').textContent = code.slice(0, 3) + ' ' + code.slice(3);
  $('pair-until').textContent = new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  m.hidden = false;
  clearTimeout(pairTimer);
  pairTimer = setTimeout(() => { m.hidden = true; }, Math.max(0, new Date(until) - Date.now()));
}

function renderPair() {
  $('pair-dots').replaceChildren(...Array.from({ length: 6 }, (_, i) => {
    const s = document.createElement('span');
    s.textContent = S.pairCode[i] || '\u00a0';
    return s;
  }));
}

async function pairKey(k) {
  if (k === 'del') S.pairCode = S.pairCode.slice(0, -1);
  else if (k === 'ok' || (S.pairCode.length === 5 && k !== 'ok')) {
    if (k !== 'ok') S.pairCode += k;
    const code = S.pairCode;
    S.pairCode = '';
    try {
      await api('POST', '/api/pair', { code, name: 'Tablet' });
      $('pair-msg').textContent = '';
      S.session = null;
      start();
    } catch (e) {
      $('pair-msg').textContent = e.message;
    }
  } else if (S.pairCode.length < 6) S.pairCode += k;
  render();
}

// ---- Wiring -------------------------------------------------------------

function wire() {
  const mute = () => command(st('Audio Microphones Mute') === 'On' ? 'Audio Microphones Unmute' : 'Audio Microphones Mute', {}, 'mute');
  const privacy = () => command('Video Camera Privacy Set', { Mode: st('Video Camera Privacy') === 'On' ? 'Off' : 'On' }, 'privacy');
  $('mute').onclick = mute;
  $('home-mute').onclick = mute;
  $('privacy').onclick = privacy;
  $('home-privacy').onclick = privacy;
  for (const b of document.querySelectorAll('.vol-down')) b.onclick = () => command('Audio Volume Decrease', {}, 'volume');
  for (const b of document.querySelectorAll('.vol-up')) b.onclick = () => command('Audio Volume Increase', {}, 'volume');
  $('leave').onclick = () => command('Call Leave', {}, 'leave');
  $('btn-retry').onclick = () => command('retry', undefined, 'join');
  $('btn-dismiss').onclick = () => command('Call Leave', {}, 'leave');
  $('btn-join-link').onclick = () => {
    const uri = $('link').value.trim();
    if (!uri) { toast('Type or paste a meeting link first', true); return; }
    command('Call Join', { Uri: uri }, 'join').then((r) => { if (r.ok) $('link').value = ''; });
  };
  $('link').addEventListener('keydown', (e) => { if (e.key === 'Enter') $('btn-join-link').click(); });
  $('btn-settings').onclick = () => (S.settings ? closeSettings() : openSettings());
  for (const b of document.querySelectorAll('[data-close-settings]')) b.onclick = closeSettings;
  for (const t of document.querySelectorAll('.tab[data-tab]')) t.onclick = () => { S.tab = t.dataset.tab; loadInfo(); };
  $('btn-enroll').onclick = async () => {
    try {
      await api('POST', '/api/admin/enroll', { code: $('enroll-code').value });
      $('enroll-msg').textContent = 'Enrollment sent; waiting for approval.';
      $('enroll-code').value = '';
    } catch (e) { $('enroll-msg').textContent = e.message; }
  };
  $('btn-revoke-all').onclick = () => revoke('all');
  $('btn-pair').onclick = () => api('POST', '/api/admin/pair', {}).catch((e) => toast(e.message, true));
  $('btn-pair-hide').onclick = () => { $('pair-modal').hidden = true; };
  $('btn-get-code').onclick = async () => {
    try {
      await api('POST', '/api/pair/request', {});
      $('pair-msg').textContent = 'Read the code on the room\u2019s panel and enter it.';
    } catch (e) { $('pair-msg').textContent = e.message; }
  };
  keypad($('pin-pad'), pinKey);
  keypad($('pair-pad'), pairKey);
  $('btn-incoming-accept').onclick = () => answer(true);
  $('btn-incoming-decline').onclick = () => answer(false);
  $('btn-dial').onclick = () => { $('dial-sheet').hidden = false; $('dial-addr').focus(); };
  $('btn-dial-close').onclick = () => { $('dial-sheet').hidden = true; };
  $('btn-dial-call').onclick = dial;
  $('dial-addr').addEventListener('keydown', (e) => { if (e.key === 'Enter') dial(); });
  keypad($('dial-pad'), dialKey, [...phoneKeys.slice(0, 9), '*', '0', '#', '@', '.', 'del']);
  $('btn-keypad').onclick = () => { S.dtmf = ''; render(); };
  $('btn-dtmf-close').onclick = () => { S.dtmf = null; render(); };
  keypad($('dtmf-pad'), dtmfKey, phoneKeys);
}

function tick() {
  const now = new Date();
  $('clock').textContent = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  $('date').textContent = now.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long' });
  if (screen() === 'home') renderHome();
}

wire();
tick();
setInterval(tick, 1000);
start();
