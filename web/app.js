// app.js -- the web dashboard (issue 12): Flink's views over Flint's REST API, redrawn every
// web.refresh-interval without reloading. Pages by the URL's fragment: #/overview,
// #/jobs, #/jobs/<jobid>, #/taskmanagers. The job page draws the job graph (vertices in
// columns by their distance from the sources) with each vertex framed by its backpressure
// level and each edge labelled with its producer's records/s and coloured by the
// producer's backpressure: the bottleneck is where red edges end. Everything the server
// sends is shown through esc() or textContent: job and operator names are the user's.
'use strict';

const main = document.getElementById('main');
let refreshMs = 3000, timer = null, drawing = false, selected = null, cancelEnabled = true;

function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
async function get(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + (await r.text()));
  return r.json();
}
function num(n) { return n === undefined || n === null ? '-' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 }); }
function bytes(n) {
  if (n === undefined || n < 0) return '-';
  const u = ['B', 'KB', 'MB', 'GB', 'TB']; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
function dur(ms) {
  if (ms < 0) return '-';
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + (s % 60) + 's';
}
function time(ms) { return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-'; }
function state(s) { return '<span class="state ' + esc(s) + '">' + esc(s) + '</span>'; }
function bp(level) { return '<span class="bp ' + esc(level) + '">' + esc(String(level).toUpperCase()) + '</span>'; }
function card(k, v) { return '<div class="card"><div class="v">' + v + '</div><div class="k">' + esc(k) + '</div></div>'; }

// ---- pages ------------------------------------------------------------------------------

async function overview() {
  const [o, jobs] = await Promise.all([get('/overview'), get('/jobs/overview')]);
  return '<h2>Overview</h2><div class="cards">' +
    card('Task Managers', o.taskmanagers) + card('Slots total', o['slots-total']) +
    card('Slots available', o['slots-available']) + card('Running jobs', o['jobs-running']) +
    card('Finished', o['jobs-finished']) + card('Cancelled', o['jobs-cancelled']) +
    card('Failed', o['jobs-failed']) + '</div>' + jobTables(jobs.jobs);
}

function jobTables(jobs) {
  const row = j => '<tr data-job-id="' + esc(j.jid) + '"><td><a href="#/jobs/' + esc(j.jid) + '">' +
    esc(j.name) + '</a></td><td>' + state(j.state) + '</td><td>' + time(j['start-time']) +
    '</td><td class="num">' + dur(j.duration) + '</td><td class="num">' + j.tasks.total + '</td></tr>';
  const head = '<table><tr><th>Job</th><th>Status</th><th>Start</th><th>Duration</th><th>Tasks</th></tr>';
  const live = jobs.filter(j => !['FINISHED', 'FAILED', 'CANCELED'].includes(j.state));
  const done = jobs.filter(j => ['FINISHED', 'FAILED', 'CANCELED'].includes(j.state));
  return '<h3>Running jobs</h3>' + head + live.map(row).join('') + '</table>' +
    '<h3>Completed jobs</h3>' + head + done.map(row).join('') + '</table>';
}

async function jobsPage() {
  return '<h2>Jobs</h2>' + jobTables((await get('/jobs/overview')).jobs);
}

async function taskmanagers() {
  const tms = (await get('/taskmanagers')).taskmanagers;
  const names = 'Status.JVM.CPU.Load,Status.Process.Memory.RSS,Status.Shuffle.Netty.AvailableMemorySegments,Status.Shuffle.Netty.TotalMemorySegments';
  const ms = await Promise.all(tms.map(t => get('/taskmanagers/' + t.id.replace(/[/?#%]/g, encodeURIComponent) + '/metrics?get=' + names)));
  const now = Date.now();
  let h = '<h2>Task Managers</h2><table><tr><th>ID</th><th>Data port</th><th>Slots</th><th>Free</th>' +
    '<th>Last heartbeat</th><th>CPU</th><th>RSS</th><th>Network buffers free</th></tr>';
  tms.forEach((t, i) => {
    const m = {}; ms[i].forEach(x => { m[x.id] = Number(x.value); });
    h += '<tr data-tm-id="' + esc(t.id) + '"><td class="tm-id">' + esc(t.id) + '</td><td class="num">' + t.dataPort +
      '</td><td class="num">' + t.slotsNumber + '</td><td class="num">' + t.freeSlots + '</td><td class="num">' +
      dur(now - t.timeSinceLastHeartbeat) + ' ago</td><td class="num">' +
      (m['Status.JVM.CPU.Load'] !== undefined ? (100 * m['Status.JVM.CPU.Load']).toFixed(1) + ' %' : '-') +
      '</td><td class="num rss">' + bytes(m['Status.Process.Memory.RSS']) + '</td><td class="num">' +
      num(m['Status.Shuffle.Netty.AvailableMemorySegments']) + ' / ' + num(m['Status.Shuffle.Netty.TotalMemorySegments']) + '</td></tr>';
  });
  return h + '</table>';
}

// Columns by longest distance from a source; rows in id order within a column.
function layout(nodes) {
  const depth = {}, byId = {};
  nodes.forEach(n => { byId[n.id] = n; });
  const d = n => {
    if (depth[n.id] !== undefined) return depth[n.id];
    depth[n.id] = 0;
    depth[n.id] = (n.inputs || []).reduce((m, i) => Math.max(m, d(byId[i.id]) + 1), 0);
    return depth[n.id];
  };
  nodes.forEach(d);
  const rows = {}, pos = {};
  nodes.forEach(n => { const c = depth[n.id]; rows[c] = (rows[c] || 0); pos[n.id] = { x: 20 + c * 300, y: 20 + rows[c] * 120 }; rows[c]++; });
  const w = 20 + (Math.max(...Object.values(depth)) + 1) * 300, h = 20 + Math.max(...Object.values(rows)) * 120;
  return { pos, w, h };
}

function graph(plan, vinfo) {
  const { pos, w, h } = layout(plan.nodes);
  let s = '<svg class="graph" width="' + w + '" height="' + h + '" xmlns="http://www.w3.org/2000/svg">';
  plan.nodes.forEach(n => (n.inputs || []).forEach(i => {
    const a = pos[i.id], b = pos[n.id], p = vinfo[i.id];
    const x1 = a.x + 220, y1 = a.y + 40, x2 = b.x, y2 = b.y + 40, mx = (x1 + x2) / 2;
    s += '<path class="edge bp-' + esc(p.level) + '" data-from="' + i.id + '" data-to="' + n.id +
      '" d="M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 + '"/>' +
      '<text class="edge-label" x="' + (x1 + 6) + '" y="' + (y1 - 8) + '">' + esc(i.ship_strategy) +
      ' · ' + num(p.outRate) + '/s</text>';
  }));
  plan.nodes.forEach(n => {
    const p = pos[n.id], v = vinfo[n.id];
    const ops = (n.operators || []).map(o => o.name).join(' → ');
    s += '<g class="vertex bp-' + esc(v.level) + '" data-vertex-id="' + n.id + '" data-bp="' + esc(v.level) +
      '" transform="translate(' + p.x + ',' + p.y + ')" onclick="location.hash=\'#/jobs/' + esc(v.jid) + '/' + n.id + '\'">' +
      '<rect width="220" height="80"/><text class="name" x="8" y="18">' + esc(n.description.slice(0, 30)) + '</text>' +
      '<text x="8" y="35">' + esc(ops.slice(0, 34)) + '</text>' +
      '<text x="8" y="52">p=' + n.parallelism + ' · ' + esc(v.status) + ' · ' + esc(String(v.level).toUpperCase()) + '</text>' +
      '<text x="8" y="69">in ' + num(v.inRate) + '/s · out ' + num(v.outRate) + '/s</text></g>';
  });
  return s + '</svg>';
}

async function vertexInfo(jid, v) {
  const base = '/jobs/' + jid + '/vertices/' + v.id;
  const [b, agg] = await Promise.all([get(base + '/backpressure'),
    get(base + '/subtasks/metrics?get=numRecordsInPerSecond,numRecordsOutPerSecond,busyTimeMsPerSecond,idleTimeMsPerSecond,backPressuredTimeMsPerSecond&agg=sum,avg')]);
  const m = {}; agg.forEach(x => { m[x.id] = x; });
  const g = (k, a) => (m[k] ? m[k][a] : undefined);
  return { jid, status: v.status, level: b.backpressureLevel, bp: b, inRate: g('numRecordsInPerSecond', 'sum'),
    outRate: g('numRecordsOutPerSecond', 'sum'), busy: g('busyTimeMsPerSecond', 'avg'),
    idle: g('idleTimeMsPerSecond', 'avg'), bpms: g('backPressuredTimeMsPerSecond', 'avg') };
}

// The per-vertex rows of one checkpoint (Flink's checkpoint details: its `tasks`).
async function checkpointTasks(jid, id, vertices) {
  let d;
  try { d = await get('/jobs/' + jid + '/checkpoints/details/' + id); } catch (e) { return ''; } // dropped from the history
  let h = '<h4>Checkpoint #' + esc(d.id) + ' per vertex</h4><table id="checkpoint-tasks"><tr><th>Vertex</th><th>Status</th>' +
    '<th>Acknowledged</th><th>Latest ack</th><th>End to end</th><th>State size</th><th>Persisted in-flight</th></tr>';
  vertices.forEach(v => {
    const t = (d.tasks || {})[v.id];
    if (!t) return;
    h += '<tr class="ck-task" data-vertex-id="' + esc(v.id) + '"><td>' + esc(v.name) + '</td><td>' + esc(t.status) +
      '</td><td class="num ck-acked">' + t.num_acknowledged_subtasks + '/' + t.num_subtasks + '</td><td>' +
      (t.latest_ack_timestamp > 0 ? time(t.latest_ack_timestamp) : '-') + '</td><td class="num">' +
      (t.end_to_end_duration >= 0 ? t.end_to_end_duration + ' ms' : '-') + '</td><td class="num">' + bytes(t.state_size) +
      '</td><td class="num">' + bytes(t.persisted_data) + '</td></tr>';
  });
  return h + '</table>';
}

async function job(jid, vid, ckid) {
  const j = await get('/jobs/' + jid);
  const [infos, ck, ex] = await Promise.all([Promise.all(j.vertices.map(v => vertexInfo(jid, v))),
    get('/jobs/' + jid + '/checkpoints'), get('/jobs/' + jid + '/exceptions')]);
  const vinfo = {};
  j.vertices.forEach((v, i) => { vinfo[v.id] = infos[i]; });
  const live = !['FINISHED', 'FAILED', 'CANCELED'].includes(j.state);
  let h = '<h2>' + esc(j.name) + ' ' + state(j.state) + '</h2><div>Job ID ' + esc(jid) + ' · started ' +
    time(j['start-time']) + ' · duration ' + dur(j.duration) + '</div><p>' +
    (live ? (cancelEnabled ? '<button class="danger" id="cancel" onclick="cancelJob(\'' + esc(jid) + '\')">Cancel job</button>' : '') +
      '<button id="savepoint" onclick="savepoint(\'' + esc(jid) + '\')">Trigger savepoint</button>' : '') +
    '<span id="action-msg" class="msg"></span></p>' + graph(j.plan, vinfo);
  h += '<h3>Vertices</h3><table><tr><th>Name</th><th>Status</th><th>Parallelism</th><th>Records in</th><th>Records out</th>' +
    '<th>In/s</th><th>Out/s</th><th>Bytes in</th><th>Bytes out</th><th>Backpressure</th><th>Busy</th><th>Idle</th><th>Backpressured</th></tr>';
  j.vertices.forEach(v => {
    const i = vinfo[v.id], pct = x => (x === undefined ? '-' : (x / 10).toFixed(0) + ' %');
    h += '<tr data-vertex-id="' + esc(v.id) + '"><td><a href="#/jobs/' + esc(jid) + '/' + esc(v.id) + '">' + esc(v.name) +
      '</a></td><td>' + state(v.status) + '</td><td class="num">' + v.parallelism + '</td><td class="num rec-in">' +
      num(v.metrics['read-records']) + '</td><td class="num rec-out">' + num(v.metrics['write-records']) +
      '</td><td class="num">' + num(i.inRate) + '</td><td class="num">' + num(i.outRate) + '</td><td class="num">' +
      bytes(v.metrics['read-bytes']) + '</td><td class="num">' + bytes(v.metrics['write-bytes']) + '</td><td class="bp-level">' +
      bp(i.level) + '</td><td class="num">' + pct(i.busy) + '</td><td class="num">' + pct(i.idle) + '</td><td class="num">' + pct(i.bpms) + '</td></tr>';
  });
  h += '</table>';
  if (vid !== undefined && vinfo[vid]) h += await subtasks(jid, vid, vinfo[vid]);
  const c = ck.counts || {}, last = (ck.latest || {}).completed;
  h += '<h3>Checkpoints</h3><div class="cards">' + card('Completed', '<span id="ck-completed">' + c.completed + '</span>') +
    card('Failed', c.failed) + card('In progress', c.in_progress) + card('Restored', c.restored) +
    card('Latest', last ? '#' + last.id + ' · ' + dur(last.end_to_end_duration) + ' · ' + bytes(last.state_size) : '-') + '</div>';
  if ((ck.history || []).length) {
    h += '<table><tr><th>ID</th><th>Status</th><th>Triggered</th><th>Duration</th><th>Size</th><th>Alignment</th><th>Acknowledged</th></tr>';
    ck.history.slice(0, 10).forEach(x => {
      h += '<tr><td class="num"><a href="#/jobs/' + esc(jid) + '/checkpoints/' + x.id + '">' + x.id + '</a>' +
        (x.is_savepoint ? ' (savepoint)' : '') + '</td><td>' + esc(x.status) + '</td><td>' +
        time(x.trigger_timestamp) + '</td><td class="num">' + x.end_to_end_duration + ' ms</td><td class="num">' + bytes(x.state_size) +
        '</td><td class="num">' + (x.alignment_duration || 0) + ' ms</td><td class="num">' + x.num_acknowledged_subtasks + '/' + x.num_subtasks + '</td></tr>';
    });
    h += '</table>';
  }
  // the checkpoint picked in the history (#/jobs/<jid>/checkpoints/<id>), else the latest completed
  const ckShown = vid === 'checkpoints' && ckid ? ckid : (last ? last.id : undefined);
  if (ckShown !== undefined) h += await checkpointTasks(jid, ckShown, j.vertices);
  h += '<h3>Exceptions</h3>' + (ex['root-exception'] ? '<pre id="root-exception">' + esc(ex['root-exception']) + '</pre>' : '<div>No exceptions.</div>');
  const eh = (ex.exceptionHistory || {}).entries || [];
  if (eh.length) {
    h += '<h4>History' + (ex.exceptionHistory.truncated ? ' (older ones dropped)' : '') + '</h4><table id="exception-history">' +
      '<tr><th>Time</th><th>Exception</th><th>Task</th><th>Location</th><th>Message</th></tr>';
    eh.forEach(x => {
      h += '<tr class="exception"><td>' + time(x.timestamp) + '</td><td>' + esc(x.exceptionName) + '</td><td>' + esc(x.taskName || '(job)') +
        '</td><td>' + esc(x.location || '-') + '</td><td><pre class="trace">' + esc(x.stacktrace) + '</pre></td></tr>';
    });
    h += '</table>';
  }
  return h;
}

async function subtasks(jid, vid, info) {
  const v = await get('/jobs/' + jid + '/vertices/' + vid);
  let h = '<h3>Subtasks of ' + esc(v.name) + '</h3><table><tr><th>#</th><th>Status</th><th>Host</th><th>Attempt</th><th>Records in</th>' +
    '<th>Records out</th><th>Duration</th><th>Backpressure</th><th>Ratio</th><th>Busy</th><th>Idle</th></tr>';
  v.subtasks.forEach((s, i) => {
    const b = (info.bp.subtasks || [])[i] || {};
    h += '<tr><td class="num">' + s.subtask + '</td><td>' + state(s.status) + '</td><td>' + esc(s.host) + '</td><td class="num">' +
      s.attempt + '</td><td class="num">' + num(s.metrics['read-records']) + '</td><td class="num">' + num(s.metrics['write-records']) +
      '</td><td class="num">' + dur(s.duration) + '</td><td>' + bp(b.backpressureLevel || 'ok') + '</td><td class="num">' +
      (b.ratio || 0).toFixed(2) + '</td><td class="num">' + (b.busyRatio || 0).toFixed(2) + '</td><td class="num">' + (b.idleRatio || 0).toFixed(2) + '</td></tr>';
  });
  return h + '</table>';
}

// ---- actions ----------------------------------------------------------------------------

async function action(method, path, body) {
  const msg = document.getElementById('action-msg');
  try {
    const r = await fetch(path, { method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    msg.textContent = r.ok ? '' : method + ' ' + path + ': ' + r.status + ' ' + (await r.text());
  } catch (e) { msg.textContent = String(e); }
  draw();
}
window.cancelJob = jid => action('PATCH', '/jobs/' + jid + '?mode=cancel');
window.savepoint = jid => action('POST', '/jobs/' + jid + '/savepoints', { 'cancel-job': false });

// ---- the loop ---------------------------------------------------------------------------

async function draw() {
  if (drawing) return;
  drawing = true;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  try {
    let h;
    if (parts[0] === 'jobs' && parts[1]) h = await job(parts[1], parts[2], parts[3]);
    else if (parts[0] === 'jobs') h = await jobsPage();
    else if (parts[0] === 'taskmanagers') h = await taskmanagers();
    else h = await overview();
    const msg = document.getElementById('action-msg'), keep = msg ? msg.textContent : '';
    main.innerHTML = h;
    if (keep && document.getElementById('action-msg')) document.getElementById('action-msg').textContent = keep;
    main.dataset.loaded = String(Number(main.dataset.loaded) + 1);
    if (!window.flintFirstDrawMs) window.flintFirstDrawMs = performance.now(); // the tests read it
    document.getElementById('footer').textContent = 'Updated ' + new Date().toISOString().slice(11, 19) + ' UTC, every ' + refreshMs / 1000 + ' s';
  } catch (e) {
    main.innerHTML = '<div class="msg" id="error">' + esc(e.message) + '</div>';
  }
  drawing = false;
}

async function start() {
  try {
    const c = await get('/config');
    refreshMs = Math.max(200, c['refresh-interval'] || 3000);
    cancelEnabled = !c.features || c.features['web-cancel'] !== false; // web.cancel.enable
    document.getElementById('version').textContent = 'Flint ' + c['flint-version'];
  } catch (e) { /* the defaults */ }
  window.addEventListener('hashchange', () => { selected = null; draw(); });
  await draw();
  timer = setInterval(draw, refreshMs);
}
start();
