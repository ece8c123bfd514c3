// The web view of a running weir flow: the planned graph from /api/dataflow, drawn once
// (again when a scope is folded or unfolded), and the status from /api/events (or
// /api/status when the browser has no EventSource) written into it as it arrives.
// Plain script, no build step: the server embeds this file as it is.
'use strict';
(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const NODE_W = 172, NODE_H = 66, GAP_X = 52, GAP_Y = 20, PAD = 10, TITLE = 18, MARGIN = 14;
  const MIN_SCALE = 0.6; // a wider graph shrinks to fit the page down to this, then scrolls
  const EXCHANGE = { by_key: 'by key', by_partition: 'by partition', round_robin: 'round robin' };

  let flow = null; // the /api/dataflow document
  let status = null; // the latest status
  const folded = new Set(); // scopes the user folded into one node
  let drawn = []; // the nodes drawn: {g, rect, rate, total, steps, entries}

  function $(id) { return document.getElementById(id); }

  function svg(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function html(name, text, parent, cls) {
    const e = document.createElement(name);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  // ---- numbers ----

  function rate(x) {
    if (!x) return '0/s';
    if (x >= 1e6) return (x / 1e6).toFixed(1) + 'M/s';
    if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k/s';
    return (x >= 10 ? Math.round(x) : x.toFixed(1)) + '/s';
  }
  function count(n) { return (n || 0).toLocaleString('en-US'); }
  function bytes(n) {
    if (!n) return '0 B';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }
  function secs(s) {
    if (s < 1e-3) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1e3).toFixed(1) + ' ms';
    if (s < 120) return s.toFixed(2) + ' s';
    const m = Math.floor(s / 60);
    return m < 120 ? m + ' min ' + Math.round(s - 60 * m) + ' s' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function ago(t, now) {
    const s = (Date.parse(now) - Date.parse(t)) / 1000;
    return s < 1 ? 'just now' : secs(Math.round(s)).replace('.00', '') + ' ago';
  }
  // fit shortens a name to n characters keeping its end (a step's own name), and a
  // description keeping its start.
  function fit(s, n) { return s.length > n ? '…' + s.slice(s.length - n + 1) : s; }
  function cut(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

  // Backpressure colour: green at 0, amber at one half, red at 1.
  function heat(f) {
    f = Math.max(0, Math.min(1, f || 0));
    const stops = [[232, 245, 236], [249, 201, 107], [229, 72, 77]];
    const i = f < 0.5 ? 0 : 1, t = f < 0.5 ? f * 2 : (f - 0.5) * 2;
    const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * t));
    return 'rgb(' + c.join(',') + ')';
  }

  // ---- the graph's layout ----

  // tree makes the scope tree of the dataflow: each scope with its children in plan
  // order (steps, and scopes placed where their first step is).
  function tree(g) {
    const scopes = new Map();
    const root = { id: g.flow, name: g.flow, kids: [], steps: [] };
    scopes.set(g.flow, root);
    for (const s of g.scopes || []) scopes.set(s.id, { id: s.id, name: s.name, parent: s.parent, kids: [], steps: [] });
    for (const s of g.scopes || []) (scopes.get(s.parent) || root).kids.push({ scope: scopes.get(s.id) });
    (g.steps || []).forEach((st, i) => {
      st.index = i;
      let s = scopes.get(st.scope) || root;
      s.kids.push({ step: st });
      for (; s; s = s.parent !== undefined ? scopes.get(s.parent) : null) s.steps.push(st);
    });
    const first = k => k.step ? k.step.index : (k.scope.steps.length ? k.scope.steps[0].index : 1e9);
    for (const s of scopes.values()) {
      s.steps.sort((a, b) => a.index - b.index);
      s.kids.sort((a, b) => first(a) - first(b));
    }
    return root;
  }

  // unit makes what a child of a scope is drawn as: a step; a scope of one step, drawn
  // as that step under the scope's name; a folded scope; or a group laid out inside.
  function unit(kid, prefix) {
    if (kid.step) return { kind: 'step', label: prefix + kid.step.name, steps: [kid.step], w: NODE_W, h: NODE_H };
    const s = kid.scope;
    if (s.steps.length === 0) return null;
    if (s.steps.length === 1) {
      // A chain of scopes down to one step reads best as the outermost scope's name.
      return { kind: 'step', label: prefix + s.name, steps: s.steps, scope: s, w: NODE_W, h: NODE_H };
    }
    if (folded.has(s.id)) return { kind: 'folded', label: prefix + s.name, steps: s.steps, scope: s, w: NODE_W, h: NODE_H };
    const inner = layout(s);
    return { kind: 'group', label: s.name, steps: s.steps, scope: s, inner: inner,
      w: inner.w + 2 * PAD, h: inner.h + 2 * PAD + TITLE };
  }

  // layout places a scope's children in layers from left to right: a child one layer
  // after the last of its upstreams, children of a layer in the order of their
  // upstreams, each as level as it can be with them.
  function layout(scope) {
    const units = scope.kids.map(k => unit(k, '')).filter(u => u);
    const owner = new Map();
    units.forEach((u, i) => { for (const st of u.steps) owner.set(st.id, i); });
    const preds = units.map(() => new Set());
    for (const e of flow.edges || []) {
      const a = owner.get(e.from), b = owner.get(e.to);
      if (a !== undefined && b !== undefined && a !== b) preds[b].add(a);
    }
    const layer = new Array(units.length).fill(-1);
    const seen = new Array(units.length).fill(false);
    const depth = i => {
      if (layer[i] >= 0) return layer[i];
      if (seen[i]) return 0; // a cycle between scopes: cut it here
      seen[i] = true;
      let d = 0;
      for (const p of preds[i]) d = Math.max(d, depth(p) + 1);
      return (layer[i] = d);
    };
    units.forEach((_, i) => depth(i));
    const cols = [];
    units.forEach((u, i) => { (cols[layer[i]] = cols[layer[i]] || []).push(i); });
    const y = new Array(units.length).fill(0);
    let x = 0, h = 0;
    const xs = [];
    for (const col of cols) {
      if (!col) continue;
      const want = i => {
        const ps = [...preds[i]];
        return ps.length ? ps.reduce((s, p) => s + y[p] + units[p].h / 2, 0) / ps.length : -1;
      };
      col.sort((a, b) => want(a) - want(b) || a - b);
      let bottom = -GAP_Y;
      for (const i of col) {
        const c = want(i);
        y[i] = Math.max(c < 0 ? 0 : c - units[i].h / 2, bottom + GAP_Y);
        bottom = y[i] + units[i].h;
        xs[i] = x;
      }
      h = Math.max(h, bottom);
      x += Math.max(...col.map(i => units[i].w)) + GAP_X;
    }
    return { w: Math.max(0, x - GAP_X), h: h, units: units.map((u, i) => ({ u: u, x: xs[i], y: y[i] })) };
  }

  // ---- drawing ----

  function draw() {
    const root = tree(flow);
    const top = layout(root);
    const dag = $('dag');
    dag.textContent = '';
    const w = top.w + 2 * MARGIN, h = top.h + 2 * MARGIN;
    dag.setAttribute('width', w);
    dag.setAttribute('height', h);
    dag.setAttribute('viewBox', `0 0 ${w} ${h}`);
    dag.style.minWidth = Math.round(w * MIN_SCALE) + 'px';
    const defs = svg('defs', {}, dag);
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8d96a7' }, marker);
    const groups = svg('g', {}, dag), edges = svg('g', {}, dag), nodes = svg('g', {}, dag);
    const box = new Map(); // step id -> the box of the node showing it
    drawn = [];

    const place = (l, ox, oy) => {
      for (const p of l.units) {
        const u = p.u, x = ox + p.x, y = oy + p.y;
        if (u.kind === 'group') {
          const g = svg('g', { class: 'group', 'data-scope': u.scope.id }, groups);
          svg('rect', { x: x, y: y, width: u.w, height: u.h }, g);
          const t = svg('text', { x: x + 8, y: y + 14 }, g);
          t.textContent = '▾ ' + u.label;
          svg('title', {}, t).textContent = u.scope.id + ' (click to fold)';
          t.addEventListener('click', () => { folded.add(u.scope.id); draw(); update(); });
          place(u.inner, x + PAD, y + PAD + TITLE);
          continue;
        }
        const b = { x: x, y: y, w: u.w, h: u.h };
        for (const st of u.steps) box.set(st.id, b);
        drawn.push(node(nodes, u, b));
      }
    };
    place(top, MARGIN, MARGIN);

    for (const e of flow.edges || []) {
      const a = box.get(e.from), b = box.get(e.to);
      if (!a || !b || a === b) continue;
      const x1 = a.x + a.w, y1 = a.y + a.h / 2 + (e.from_port ? 8 * e.from_port : 0);
      const x2 = b.x, y2 = b.y + b.h / 2 + (e.to_port ? 8 * e.to_port : 0);
      const dx = Math.max(24, (x2 - x1) / 2);
      const exchange = e.exchange && e.exchange !== 'forward';
      const p = svg('path', { d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2 - 1},${y2}`,
        class: 'edge' + (exchange ? ' exchange' : ''), 'marker-end': 'url(#arrow)', 'data-edge': e.id }, edges);
      svg('title', {}, p).textContent = e.from + ' → ' + e.to + ' (' + (e.exchange || 'forward') + (e.item_type ? ', ' + e.item_type : '') + ')';
      if (exchange) {
        const t = svg('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 5, 'text-anchor': 'middle', class: 'edge-label' }, edges);
        t.textContent = EXCHANGE[e.exchange] || e.exchange;
      }
    }
  }

  // node draws one node: its name, what it is, its rate and its total; update fills in
  // the figures. Entries are the steps whose items count as the node's: an input's
  // items read, or what enters a folded scope from outside it.
  function node(parent, u, b) {
    const ids = u.steps.map(s => s.id);
    const g = svg('g', { class: 'node', 'data-step': ids.join(' '), transform: `translate(${b.x},${b.y})` }, parent);
    const rect = svg('rect', { width: b.w, height: b.h, fill: heat(0) }, g);
    const name = svg('text', { x: 10, y: 17, class: 'name' }, g);
    name.textContent = fit(u.label, 22);
    const kind = svg('text', { x: 10, y: 30, class: 'kind' }, g);
    const st = u.steps[0];
    if (u.kind === 'folded') kind.textContent = u.steps.length + ' steps (folded)';
    else kind.textContent = cut(st.kind.replace(/_/g, ' ') + (st.fused_into ? ', fused' : '') + (st.item_type ? ' · ' + st.item_type : ''), 30);
    const rateT = svg('text', { x: 10, y: 48, class: 'rate' }, g);
    const total = svg('text', { x: 10, y: 60, class: 'total' }, g);
    const share = svg('text', { x: b.w - 8, y: 48, class: 'share', 'text-anchor': 'end' }, g);
    const tip = u.kind === 'folded'
      ? u.scope.id + ': ' + u.steps.length + ' steps (click to unfold)'
      : st.id + '\n' + st.kind + (st.item_type ? ' of ' + st.item_type : '') + (st.fused_into ? '\nruns in the loop of ' + st.fused_into : '');
    svg('title', {}, g).textContent = tip;
    if (u.kind === 'folded') {
      g.style.cursor = 'pointer';
      g.addEventListener('click', () => { folded.delete(u.scope.id); draw(); update(); });
    }
    const inside = new Set(ids);
    const entries = u.kind === 'folded'
      ? u.steps.filter(s => s.kind === 'input' || (flow.edges || []).some(e => e.to === s.id && !inside.has(e.from)))
      : u.steps;
    return { g: g, rect: rect, rate: rateT, total: total, share: share, steps: u.steps, entries: entries };
  }

  // ---- live figures ----

  function update() {
    if (!status || !flow) return;
    const byId = new Map((status.steps || []).map(s => [s.id, s]));
    for (const d of drawn) {
      let r = 0, n = 0, bp = 0, busy = 0, input = false;
      for (const st of d.entries) {
        const s = byId.get(st.id);
        if (!s) continue;
        // An input's figure is what it read; any other step's what it received.
        input = input || st.kind === 'input';
        r += st.kind === 'input' ? s.out_per_sec : s.in_per_sec;
        n += st.kind === 'input' ? s.out : s.in;
        bp = Math.max(bp, s.backpressure || 0);
      }
      for (const st of d.steps) busy += (byId.get(st.id) || {}).busy || 0;
      d.rate.textContent = rate(r);
      d.total.textContent = count(n) + (n === 1 ? ' item' : ' items');
      // Inputs are what backpressure holds back; elsewhere the time in the step's code
      // says where a flow is slow. Both are shares of the rate window, summed over workers.
      const pct = f => (f >= 0.1 ? Math.round(f * 100) : (f * 100).toFixed(1)) + '%';
      d.share.textContent = input ? (bp > 0.0005 ? 'held back ' + pct(bp) : '') : (busy > 0.0005 ? 'busy ' + pct(busy) : '');
      d.share.setAttribute('class', 'share' + (input && bp > 0.0005 ? ' held' : ''));
      d.rect.setAttribute('fill', heat(bp));
    }
    header();
    workers();
    lags();
    errors();
  }

  function header() {
    if (status.flow) $('flow').textContent = status.flow; // empty until the run has started
    const st = $('state');
    st.textContent = status.state;
    st.className = 'state ' + status.state;
    const ws = (status.workers || []).map(w => w.worker);
    const list = ws.length > 6 ? ws[0] + '–' + ws[ws.length - 1] : ws.join(', ');
    const where = $('where');
    if (status.processes > 1) {
      where.textContent = `process ${status.process} of ${status.processes} · workers ${list} of ${status.total_workers}`;
      const p = $('processes');
      p.hidden = false;
      p.textContent = `${status.processes} processes run this flow. This page is process ${status.process}'s and shows its own ` +
        `${ws.length} worker${ws.length === 1 ? '' : 's'} (${list}) of ${status.total_workers}: every process serves its own workers, ` +
        `so the figures here are this process's share; the others' are on their own addresses.`;
    } else {
      where.textContent = status.started ? `${status.total_workers} worker${status.total_workers === 1 ? '' : 's'} · 1 process` : '';
      $('processes').hidden = true;
    }
    const end = status.ended || status.time;
    $('uptime').textContent = !status.started ? 'not started yet'
      : (status.ended ? 'ran for ' : 'running for ') + secs(Math.max(0, (Date.parse(end) - Date.parse(status.started)) / 1000)).replace(/\.\d+ s$/, ' s');
  }

  function workers() {
    const body = $('workers').tBodies[0];
    body.textContent = '';
    const list = status.workers || [];
    // Bytes to other processes only in a cluster; credits only with several workers.
    const peers = list.some(w => w.sent_bytes), credit = list.some(w => w.credits);
    for (const th of document.querySelectorAll('#workers th.peers')) th.hidden = !peers;
    for (const th of document.querySelectorAll('#workers th.credit')) th.hidden = !credit;
    for (const w of list) {
      const tr = html('tr', undefined, body);
      tr.dataset.worker = w.worker;
      html('td', 'w' + w.worker, tr);
      html('td', count(w.epoch), tr, 'num epoch');
      html('td', w.committed ? count(w.committed) : '–', tr, 'num');
      html('td', count(w.in), tr, 'num');
      html('td', count(w.out), tr, 'num');
      const held = html('td', Math.round((w.backpressure || 0) * 100) + '%', tr, 'num');
      held.title = secs(w.backpressure_seconds || 0) + ' held back in all';
      held.style.background = w.backpressure > 0.005 ? heat(w.backpressure) : '';
      html('td', bytes(w.in_flight_bytes), tr, 'num');
      if (peers) {
        let r = 0, n = 0;
        const each = [];
        (w.sent_bytes || []).forEach((b, p) => {
          if (p === status.process) return; // its own process's workers get batches as they are
          r += w.sent_per_sec[p];
          n += b;
          each.push(`process ${p}: ${bytes(w.sent_per_sec[p])}/s, ${bytes(b)} in all`);
        });
        html('td', `${bytes(r)}/s · ${bytes(n)}`, tr, 'num peers').title = each.join('\n');
      }
      if (credit) {
        const cs = w.credits || [];
        const low = cs.length ? Math.min(...cs) : 0;
        const td = html('td', bytes(Math.max(0, low)), tr, 'num credit');
        td.title = cs.map((c, d) => `to w${d}: ${c <= 0 ? 'none (paused)' : bytes(c)}`).join('\n');
        if (low <= 0 && cs.length) td.style.background = heat(1);
      }
      const snaps = w.snapshots || [];
      const last = snaps[snaps.length - 1];
      html('td', last ? `epoch ${last.epoch} · ${secs(last.duration_seconds)} · ${bytes(last.bytes)} · ${ago(last.time, status.time)}` : 'none yet', tr, 'snap');
      history(html('td', undefined, tr), snaps);
    }
  }

  // history draws a worker's recent snapshots as bars of their durations, the latest
  // right, each with its epoch, time and size in its tooltip.
  function history(td, snaps) {
    const n = 30, bw = 4, h = 24;
    const s = svg('svg', { width: n * (bw + 1), height: h, class: 'bars' }, td);
    const shown = snaps.slice(-n);
    const max = Math.max(1e-9, ...shown.map(x => x.duration_seconds));
    shown.forEach((x, i) => {
      const bh = Math.max(1, Math.round((x.duration_seconds / max) * (h - 2)));
      const r = svg('rect', { x: i * (bw + 1), y: h - bh, width: bw, height: bh, class: i === shown.length - 1 ? 'latest' : '' }, s);
      svg('title', {}, r).textContent = `epoch ${x.epoch}: ${secs(x.duration_seconds)}, ${bytes(x.bytes)} at ${new Date(x.time).toLocaleTimeString()}`;
    });
    if (shown.length) {
      const title = svg('title', {});
      title.textContent = `the latest ${shown.length} writes: epochs ${shown[0].epoch}–${shown[shown.length - 1].epoch}`;
      s.insertBefore(title, s.firstChild);
    }
  }

  function lags() {
    const body = $('lag').tBodies[0];
    body.textContent = '';
    const rows = status.sources || [];
    $('nolag').hidden = rows.length > 0;
    $('lag').hidden = rows.length === 0;
    for (const l of rows) {
      const tr = html('tr', undefined, body);
      html('td', l.step, tr);
      html('td', l.partition, tr);
      html('td', 'w' + l.worker, tr);
      html('td', count(l.lag), tr, 'num'); // in the source's own unit: records, bytes
    }
  }

  function errors() {
    const ul = $('errors');
    ul.textContent = '';
    const list = status.errors || [];
    $('noerrors').hidden = list.length > 0;
    for (const e of list) {
      const li = html('li', undefined, ul);
      html('span', new Date(e.time).toLocaleTimeString(), li, 'when');
      html('span', e.message + (e.workers > 1 ? ` (${e.workers} workers)` : ''), li);
    }
  }

  // ---- the connection ----

  function live(on) { $('live').className = on ? 'on' : ''; }

  function receive(s) {
    status = s;
    live(true);
    update();
  }

  // Server-sent events: one connection, a status a second, and the browser reconnects
  // by itself. Without EventSource, poll the same document.
  function listen() {
    if (window.EventSource) {
      const es = new EventSource('api/events');
      es.addEventListener('status', m => receive(JSON.parse(m.data)));
      es.onerror = () => live(false);
      return;
    }
    const poll = () => fetch('api/status').then(r => r.json()).then(receive, () => live(false)).finally(() => setTimeout(poll, 1000));
    poll();
  }

  fetch('api/dataflow').then(r => {
    if (!r.ok) throw new Error('api/dataflow: ' + r.status);
    return r.json();
  }).then(g => {
    flow = g;
    $('flow').textContent = g.flow;
    draw();
    update();
    listen();
  }).catch(err => {
    $('state').textContent = 'unreachable';
    $('state').className = 'state failed';
    html('p', String(err), $('graph'), 'note');
  });
})();
