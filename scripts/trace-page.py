#!/usr/bin/env python3
"""Writes an HTML page that reads a kiln-bench --trace file with the
browser's own JSON.parse and draws one run as a timeline: a bar per kernel,
coloured by category, labelled with its name and first ONNX node. Used to
check in headless Chromium that a trace opens in a browser (the screenshot
in docs/images/); Perfetto and chrome://tracing read the same file.

Usage: trace-page.py TRACE.json PAGE.html [RUN]"""
import json
import sys

trace_text = open(sys.argv[1]).read()
run = int(sys.argv[3]) if len(sys.argv) > 3 else 0
page = """<!doctype html><meta charset="utf-8"><title>kiln-bench trace</title>
<style>body{font:13px sans-serif;margin:12px}canvas{border:1px solid #ccc}</style>
<h3 id="title"></h3><canvas id="c" width="1360"></canvas><div id="legend"></div>
<script id="trace" type="application/json">TRACE</script>
<script>
const trace = JSON.parse(document.getElementById('trace').textContent);
const run = RUN;
const events = trace.traceEvents.filter(e => e.ph === 'X' && e.args && e.args.run === run);
const whole = events.find(e => e.cat === 'run');
const kernels = events.filter(e => e.cat !== 'run');
const colours = {attention: '#4e79a7', 'moe routing': '#f28e2b', experts: '#e15759',
                 norms: '#76b7b2', matmuls: '#59a14f', other: '#bab0ac'};
document.getElementById('title').textContent =
  `run ${run}: ${whole.dur.toFixed(1)} us, ${kernels.length} kernels ` +
  `(${trace.traceEvents.length} trace events in the file)`;
const canvas = document.getElementById('c');
const left = 10, width = 1340, rowHeight = 13;
canvas.height = 20 + kernels.length * rowHeight;
const c = canvas.getContext('2d');
c.font = '11px sans-serif';
const scale = width / whole.dur;
kernels.forEach((e, i) => {
  const x = left + (e.ts - whole.ts) * scale, y = 10 + i * rowHeight;
  c.fillStyle = colours[e.cat] || '#999';
  c.fillRect(x, y, Math.max(2, e.dur * scale), rowHeight - 2);
  c.fillStyle = '#000';
  c.fillText(`${e.name} (${e.dur.toFixed(1)} us) ${e.args.nodes[0] || ''}`,
             Math.min(x + Math.max(2, e.dur * scale) + 3, width - 420), y + 10);
});
document.getElementById('legend').innerHTML = Object.entries(colours).map(
  ([k, v]) => `<span style="background:${v};padding:2px 8px;margin-right:6px">${k}</span>`).join('');
</script>
"""
json.loads(trace_text)  # the same check a browser makes
open(sys.argv[2], "w").write(page.replace("TRACE", trace_text.replace("</", "<\\/"))
                              .replace("RUN", str(run)))
