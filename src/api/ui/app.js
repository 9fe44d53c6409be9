// The live page: /stats polled once a second (counters, topics, the rate chart) and a live
// tail over GET /subscribe (Server-Sent Events). No libraries, no external resources.
'use strict';
(() => {
  const POLL_MS = 1000;        // /stats period; the chart's resolution
  const WINDOW_MS = 5 * 60e3;  // the chart shows the last 5 minutes
  const TAIL_MAX = 200;        // rows kept in the live tail
  const GAP_MS = 3500;         // no sample for this long: the chart shows a gap (service down)

  const $ = (id) => document.getElementById(id);
  const nf = new Intl.NumberFormat('en-US');
  const rateFmt = (v) => (v >= 100 ? nf.format(Math.round(v)) : v.toFixed(v >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0');

  // ---- Credentials. With --auth on the API answers 401: the page then asks for a key and
  // sends it as a Bearer header (fetch) or access_token (EventSource cannot set headers).
  const auth = {
    key: sessionStorage.getItem('agg.key') || '',
    headers() { return this.key ? { Authorization: 'Bearer ' + this.key } : {}; },
    query() { return this.key ? '&access_token=' + encodeURIComponent(this.key) : ''; },
    ask() { $('key-form').hidden = false; },
  };
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    auth.key = $('key-input').value.trim();
    sessionStorage.setItem('agg.key', auth.key);
    $('key-form').hidden = true;
    openStream(true);
  });

  // ---- Connection state, from both the /stats poll and the event stream.
  const conn = { stats: 'connecting', stream: 'connecting' };
  let lastSeq = null;  // seq of the last event shown: where a new stream resumes
  function showConn() {
    let state, text;
    if (conn.stats === 'down' && conn.stream !== 'open') {
      state = 'offline';
      text = 'Service unreachable · retrying';
    } else if (conn.stream === 'open' && conn.stats === 'ok') {
      state = 'live';
      text = 'Live';
    } else if (conn.stream === 'unauthorized' || conn.stats === 'unauthorized') {
      state = 'offline';
      text = 'API key needed';
    } else if (conn.stream === 'closed') {
      state = 'connecting';  // the stream was refused (e.g. 503 overloaded): retrying
      text = 'Live stream unavailable · retrying';
    } else {
      state = 'connecting';
      text = lastSeq === null ? 'Connecting…' : 'Reconnecting · resuming after seq ' + lastSeq;
    }
    const el = $('conn');
    el.dataset.state = state;
    el.dataset.stream = conn.stream;
    $('conn-text').textContent = text;
  }

  // ---- Counters, topics and rates from /stats.
  function setValue(id, value) {
    const el = $(id);
    el.dataset.value = String(value);
    el.textContent = nf.format(value);
  }

  function duration(s) {
    s = Math.floor(s);
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    const h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }

  function clock(date, ms) {
    const p = (n, w = 2) => String(n).padStart(w, '0');
    const t = p(date.getHours()) + ':' + p(date.getMinutes()) + ':' + p(date.getSeconds());
    return ms ? t + '.' + p(date.getMilliseconds(), 3) : t;
  }

  function showStats(s) {
    setValue('c-received', s.received);
    setValue('c-unique', s.unique_processed);
    setValue('c-duplicates', s.duplicate_dropped);
    $('c-dup-share').textContent = s.received
      ? ((100 * s.duplicate_dropped) / s.received).toFixed(1) + '% of received'
      : 'dropped copies';
    setValue('c-conflicts', s.conflicts);
    const rej = s.rejected || { invalid: 0, overloaded: 0 };
    setValue('c-rejected', rej.invalid + rej.overloaded);
    $('c-rejected-sub').textContent = nf.format(rej.invalid) + ' invalid · ' + nf.format(rej.overloaded) + ' overloaded';
    const q = s.queue || { depth: 0, capacity: 0 };
    setValue('c-queue', q.depth);
    $('c-queue-sub').textContent = 'of ' + nf.format(q.capacity) + ' capacity';
    $('c-queue-bar').style.width = (q.capacity ? Math.min(100, (100 * q.depth) / q.capacity) : 0) + '%';
    if (typeof s.subscribers === 'number') {
      $('card-subscribers').hidden = false;
      setValue('c-subscribers', s.subscribers);
    }
    const up = $('c-uptime');
    up.dataset.value = String(s.uptime);
    up.textContent = duration(s.uptime);
    if (s.started_at) {
      const d = new Date(s.started_at);
      const today = !isNaN(d) && d.toDateString() === new Date().toDateString();
      $('c-started').textContent = isNaN(d) ? '' : ' · since ' + (today ? '' : d.toLocaleDateString('en-CA') + ' ') + clock(d);
      $('c-uptime').parentElement.title = 'uptime of the answering node; started ' + s.started_at;
    }
    showTopics(s.topic_counts || {});
  }

  let topicsKey = '';
  function showTopics(counts) {
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const key = JSON.stringify(entries);
    if (key === topicsKey) return;
    topicsKey = key;
    const max = entries.length ? entries[0][1] : 1;
    const list = $('topics');
    const frag = document.createDocumentFragment();
    for (const [name, count] of entries.slice(0, 100)) {
      const li = document.createElement('li');
      li.title = 'Show only ' + name + ' in the live tail';
      li.dataset.topic = name;
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = name;
      const c = document.createElement('span');
      c.className = 'count';
      c.textContent = nf.format(count);
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = Math.max(1, (100 * count) / max) + '%';
      bar.append(fill);
      li.append(n, c, bar);
      li.addEventListener('click', () => setFilter(name));
      frag.append(li);
    }
    list.replaceChildren(frag);
    $('topics-empty').hidden = entries.length > 0;
    $('topic-count').textContent = entries.length
      ? '· ' + entries.length + (entries.length > 100 ? ' (top 100 shown)' : '')
      : '';
  }

  // Rate samples, one per /stats answer, from the change of the counters (they persist across
  // restarts) over the last few seconds: per-second differences of small counts are jumpy.
  const SMOOTH_MS = 3000;
  const samples = [];  // {t, rx, dup, gap}: events/s and duplicates/s at t = Date.now() ms
  const raw = [];      // {t, rx, dup}: the counters as polled, the last few seconds
  function addSample(s, t) {
    const prevRaw = raw[raw.length - 1];
    if (prevRaw && (s.received < prevRaw.rx || s.duplicate_dropped < prevRaw.dup || t - prevRaw.t > GAP_MS))
      raw.length = 0;  // another store, or a gap: start over
    raw.push({ t, rx: s.received, dup: s.duplicate_dropped });
    while (raw.length > 2 && raw[1].t <= t - SMOOTH_MS) raw.shift();
    if (raw.length > 1) {
      const a = raw[0];
      const dt = (t - a.t) / 1000;
      const last = samples[samples.length - 1];
      samples.push({ t, rx: (s.received - a.rx) / dt, dup: (s.duplicate_dropped - a.dup) / dt,
                     gap: !last || t - last.t > GAP_MS });
    }
    while (samples.length && samples[0].t < t - WINDOW_MS) samples.shift();
    const last = samples[samples.length - 1];
    $('rate-rx').textContent = last ? rateFmt(last.rx) : '–';
    $('rate-dup').textContent = last ? rateFmt(last.dup) : '–';
    drawChart();
  }

  async function poll() {
    try {
      const r = await fetch('/stats', { cache: 'no-store', headers: auth.headers() });
      if (r.status === 401) {
        conn.stats = 'unauthorized';
        auth.ask();
      } else if (!r.ok) {
        throw new Error('HTTP ' + r.status);
      } else {
        const s = await r.json();
        conn.stats = 'ok';
        showStats(s);
        addSample(s, Date.now());
      }
    } catch (e) {
      conn.stats = 'down';
      drawChart();
    }
    showConn();
    setTimeout(poll, POLL_MS);
  }

  // ---- Chart: canvas, no library.
  // Grid step: the smallest of 1, 2, 5 x 10^k that cuts the range in at most 4 parts.
  function niceStep(top) {
    const raw = top / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawChart() {
    const canvas = $('chart');
    const box = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(box.width));
    const h = Math.max(1, Math.round(box.height));
    if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
      canvas.width = w * dpr;
      canvas.height = h * dpr;
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const now = Date.now();
    const pad = { l: 48, r: 8, t: 8, b: 22 };
    const pw = w - pad.l - pad.r;
    const ph = h - pad.t - pad.b;
    let top = 0;
    for (const s of samples) top = Math.max(top, s.rx, s.dup);
    top = Math.max(top, 1);
    const step = niceStep(top);
    const ymax = step * Math.ceil(top / step - 1e-9);
    const x = (t) => pad.l + pw * (1 - (now - t) / WINDOW_MS);
    const y = (v) => pad.t + ph * (1 - v / ymax);

    ctx.font = '11px ' + color('--sans');
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i * step <= ymax + 1e-9; i++) {
      const v = i * step;
      const yy = Math.round(y(v)) + 0.5;
      ctx.strokeStyle = color('--line');
      ctx.beginPath();
      ctx.moveTo(pad.l, yy);
      ctx.lineTo(w - pad.r, yy);
      ctx.stroke();
      ctx.fillStyle = color('--muted');
      ctx.fillText(rateFmt(v), pad.l - 8, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    const stride = pw / 5 >= 64 ? 1 : 5;  // narrow: only the ends are labelled
    for (let m = 5; m >= 0; m -= stride) {
      const xx = x(now - m * 60e3);
      ctx.textAlign = m === 5 ? 'left' : m === 0 ? 'right' : 'center';
      ctx.fillText(m === 0 ? 'now' : '−' + m + ' min', xx, h - 5);
    }

    const line = (key, stroke, fill) => {
      if (!samples.length) return;
      // Split into runs at gaps (the service was unreachable): no line across them.
      const runs = [];
      for (const s of samples) {
        if (s.gap || !runs.length) runs.push([]);
        runs[runs.length - 1].push(s);
      }
      for (const run of runs) {
        if (run.length === 1) {  // a lone sample (just opened, or just back): a dot
          ctx.beginPath();
          ctx.arc(x(run[0].t), y(run[0][key]), 2.5, 0, 2 * Math.PI);
          ctx.fillStyle = stroke;
          ctx.fill();
          continue;
        }
        ctx.beginPath();
        run.forEach((s, i) => (i ? ctx.lineTo(x(s.t), y(s[key])) : ctx.moveTo(x(s.t), y(s[key]))));
        if (fill) {
          ctx.save();
          ctx.lineTo(x(run[run.length - 1].t), y(0));
          ctx.lineTo(x(run[0].t), y(0));
          ctx.closePath();
          ctx.globalAlpha = 0.1;
          ctx.fillStyle = stroke;
          ctx.fill();
          ctx.restore();
          ctx.beginPath();
          run.forEach((s, i) => (i ? ctx.lineTo(x(s.t), y(s[key])) : ctx.moveTo(x(s.t), y(s[key]))));
        }
        ctx.strokeStyle = stroke;
        ctx.lineWidth = 1.8;
        ctx.lineJoin = 'round';
        ctx.stroke();
      }
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, 0, pw, h);
    ctx.clip();
    line('rx', color('--accent'), true);
    line('dup', color('--dup'), false);
    ctx.restore();
    if (!samples.length) {
      ctx.fillStyle = color('--muted');
      ctx.textAlign = 'center';
      ctx.font = '13px ' + color('--sans');
      ctx.fillText(conn.stats === 'down' ? 'Service unreachable' : 'Collecting samples…', pad.l + pw / 2, pad.t + ph / 2);
    }
  }
  window.addEventListener('resize', drawChart);

  // ---- Topic filter: exact topics or prefix patterns ending in '*', comma or space separated.
  let patterns = [];
  function parseFilter(text) {
    const list = text.split(/[\s,]+/).filter(Boolean);
    for (const p of list) {
      if (p.indexOf('*') !== -1 && p.indexOf('*') !== p.length - 1) return { error: '“' + p + '”: a * may only end a pattern (order.*)' };
      if (new TextEncoder().encode(p).length > 255) return { error: 'a topic is at most 255 bytes' };
    }
    return { list };
  }
  const matches = (topic) =>
    !patterns.length || patterns.some((p) => (p.endsWith('*') ? topic.startsWith(p.slice(0, -1)) : topic === p));

  function setFilter(text) {
    $('filter').value = text;
    applyFilter();
  }
  function applyFilter() {
    const parsed = parseFilter($('filter').value);
    $('filter-error').hidden = !parsed.error;
    if (parsed.error) {
      $('filter-error').textContent = parsed.error;
      return;
    }
    if (JSON.stringify(parsed.list) === JSON.stringify(patterns)) return;
    patterns = parsed.list;
    // Rows that match the new filter stay; the new stream starts with the events committed
    // from now on (resuming from an old cursor could replay a long history of other topics).
    pending = pending.filter((e) => matches(e.topic));
    for (const tr of [...$('tail').rows]) if (!matches(tr.dataset.topic)) tr.remove();
    showTailState();
    lastSeq = null;
    openStream(true);
  }
  let filterTimer = 0;
  $('filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 400);
  });
  $('filter').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      clearTimeout(filterTimer);
      applyFilter();
    }
  });

  // ---- The live tail over Server-Sent Events.
  let source = null;
  let retryMs = 1000;
  let retryTimer = 0;
  let pending = [];     // events received but not drawn yet (drawn once per animation frame)
  let paused = false;
  let frame = 0;

  function subscribeUrl() {
    let url = '/subscribe?after=' + (lastSeq === null ? 'latest' : lastSeq);
    for (const p of patterns) url += '&topic=' + encodeURIComponent(p);
    return url + auth.query();
  }

  // Opens a new stream from lastSeq. EventSource reconnects by itself after a dropped
  // connection (sending Last-Event-ID); it gives up (CLOSED) on an error status, and then
  // the page opens a new stream itself, backing off up to 10 s.
  function openStream(now) {
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    if (!now) {
      retryTimer = setTimeout(() => openStream(true), retryMs);
      retryMs = Math.min(10000, retryMs * 2);
      return;
    }
    const es = new EventSource(subscribeUrl());
    source = es;
    conn.stream = 'connecting';
    showConn();
    es.onopen = () => {
      conn.stream = 'open';
      retryMs = 1000;
      showConn();
    };
    es.addEventListener('event', (m) => {
      let e;
      try {
        e = JSON.parse(m.data);
      } catch (err) {
        return;
      }
      lastSeq = e.seq;
      pending.push(e);
      if (pending.length > TAIL_MAX) pending.splice(0, pending.length - TAIL_MAX);
      schedule();
    });
    es.addEventListener('overflow', (m) => {
      // The service dropped this stream because the page fell behind: resume after the
      // last seq it sent (which is the last one shown, or the start position).
      try {
        const n = JSON.parse(m.data).last_seq;
        if (typeof n === 'number' && (lastSeq === null || n > lastSeq)) lastSeq = n;
      } catch (err) { /* keep lastSeq */ }
      openStream(true);
    });
    es.onerror = () => {
      if (es !== source) return;
      if (es.readyState === EventSource.CLOSED) {
        conn.stream = 'closed';  // an error status (503 overloaded, 401 ...): try again later
        openStream(false);
      } else {
        conn.stream = 'connecting';  // EventSource retries on its own, with Last-Event-ID
      }
      showConn();
    };
  }

  function schedule() {
    if (!paused && !frame) frame = requestAnimationFrame(drawTail);
  }

  function cell(cls, text, title) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    if (title) td.title = title;
    return td;
  }

  function drawTail() {
    frame = 0;
    if (!pending.length) return;
    const body = $('tail');
    const frag = document.createDocumentFragment();
    for (let i = pending.length - 1; i >= 0; i--) {
      const e = pending[i];
      const tr = document.createElement('tr');
      tr.className = 'new';
      tr.dataset.seq = e.seq;
      tr.dataset.topic = e.topic;
      tr.dataset.eventId = e.event_id;
      const at = new Date(e.received_at);
      const payload = JSON.stringify(e.payload);
      tr.append(
        cell('seq', String(e.seq)),
        cell('time', isNaN(at) ? e.received_at : clock(at, true), 'received ' + e.received_at + '\ntimestamp ' + e.timestamp),
        cell('topic', e.topic, e.topic),
        cell('id', e.event_id, e.event_id),
        cell('source', e.source, e.source),
        cell('payload', payload.length > 400 ? payload.slice(0, 400) + '…' : payload, 'click to expand'),
      );
      tr.lastChild.dataset.full = payload;
      frag.append(tr);
    }
    pending = [];
    body.prepend(frag);
    while (body.rows.length > TAIL_MAX) body.deleteRow(-1);
    showTailState();
  }

  function showTailState() {
    $('tail-empty').hidden = $('tail').rows.length > 0;
    $('tail-note').textContent = paused
      ? '· paused' + (pending.length ? ' · ' + pending.length + ' new' : '')
      : '· newest first' + (patterns.length ? ' · ' + patterns.join(', ') : '');
  }

  $('tail').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (!tr) return;
    if (ev.target.closest('td.payload') && !tr.classList.contains('open')) {
      // Expanded rows show the whole payload, pretty-printed.
      const td = tr.querySelector('td.payload');
      td.dataset.short = td.textContent;
      try {
        td.textContent = JSON.stringify(JSON.parse(td.dataset.full), null, 2);
      } catch (err) { /* not JSON: leave it */ }
      tr.classList.add('open');
    } else if (tr.classList.contains('open')) {
      const td = tr.querySelector('td.payload');
      td.textContent = td.dataset.short;
      tr.classList.remove('open');
    }
  });

  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').setAttribute('aria-pressed', String(paused));
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    showTailState();
    schedule();
  });
  $('clear').addEventListener('click', () => {
    $('tail').replaceChildren();
    pending = [];
    showTailState();
  });

  $('origin').textContent = location.host;
  showTailState();
  showConn();
  drawChart();
  poll();
  openStream(true);
})();
