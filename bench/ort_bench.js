#!/usr/bin/env node
// ort_bench.js -- time an ONNX model's forward in ONNX Runtime (CPU): the third column of bench/run.
//
//   NODE_PATH=DIR/node_modules node bench/ort_bench.js MODEL.onnx INPUT.npy [--threads T] [--repeat N]
//                                                      [--check REFERENCE.npy] [--profile PREFIX]
//
// onnxruntime-node comes from NODE_PATH (bench/run installs it into its cache folder). The session runs on T
// intra-op threads (2), one inter-op thread, sequential execution, all graph optimizations. One warm-up forward,
// then N timed ones (11); prints one JSON object on stdout like bench/torch_bench.py: every time, their median,
// and the peak RSS of this process (KB). --check runs one forward instead and compares it with the reference
// (float32 or float64 .npy, e.g. tools/vggc_torch.py's): prints the max difference, exits 1 above the tolerance.
// --profile writes ONNX Runtime's own per-node profile (enableProfiling) to PREFIX_<date>.json.
'use strict';

const fs = require('fs');
const path = require('path');

const USAGE = 'usage: ort_bench.js MODEL.onnx INPUT.npy [--threads T] [--repeat N] [--check REF.npy] ' +
  '[--profile PREFIX]';
const TOLERANCE = 1e-4; // normwise relative error against the reference; a broken export is off by far more

function fail(msg) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = { threads: 2, repeat: 11, check: null, profile: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i];
    if (!opt.startsWith('--')) { a.files.push(opt); continue; }
    const value = argv[++i];
    if (value === undefined) fail(`${opt}: missing value (${USAGE})`);
    if (opt === '--threads' || opt === '--repeat') {
      if (!/^[1-9][0-9]*$/.test(value)) fail(`${opt} ${value}: not a positive count`);
      a[opt.slice(2)] = Number(value);
    } else if (opt === '--check' || opt === '--profile') {
      a[opt.slice(2)] = value;
    } else {
      fail(`unknown option '${opt}' (${USAGE})`);
    }
  }
  if (a.files.length !== 2) fail(USAGE);
  return a;
}

// readNpy(FILE) -> { shape, data: Float32Array or Float64Array }: little-endian, C order, f4 or f8 only.
function readNpy(file) {
  let buf;
  try { buf = fs.readFileSync(file); } catch (e) { fail(`${file}: cannot read (${e.code})`); }
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const v1 = buf[6] === 1;
  const len = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (v1 ? 10 : 12) + len;
  const header = buf.toString('latin1', v1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || /'fortran_order':\s*True/.test(header)) fail(`${file}: unexpected header ${header.trim()}`);
  const dims = shape[1].split(',').filter((s) => s.trim()).map(Number);
  const count = dims.reduce((n, d) => n * d, 1);
  const Type = { '<f4': Float32Array, '<f8': Float64Array }[descr[1]];
  if (!Type) fail(`${file}: dtype ${descr[1]} (expected <f4 or <f8)`);
  const size = count * Type.BYTES_PER_ELEMENT;
  if (buf.length - start !== size) fail(`${file}: ${buf.length - start} bytes of data (shape ${dims} needs ${size})`);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, size).slice(); // aligned for Type
  return { shape: dims, data: new Type(bytes.buffer) };
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (${e.message.split('\n')[0]}; set NODE_PATH to the node_modules holding it)`);
  }
}

// profileNodes(PREFIX) -> [{name, op, output_shape, times_ms}]: each node's kernel times in the timed forwards
// (the warm-up dropped), in the order they ran, from the profile file endProfiling() wrote (PREFIX_<date>.json).
function profileNodes(prefix) {
  const dir = path.dirname(prefix), base = path.basename(prefix) + '_';
  const file = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json')).sort().pop();
  if (!file) fail(`${prefix}: ONNX Runtime wrote no profile (${base}*.json in ${dir})`);
  const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).sort((a, b) => a.ts - b.ts);
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(1);
  const timed = (e) => runs.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !timed(e)) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) {
      const out = e.args.output_type_shape && e.args.output_type_shape[0];
      nodes.set(name, { name, op: e.args.op_name, output_shape: out ? Object.values(out)[0] : null, times_ms: [] });
    }
    nodes.get(name).times_ms.push(e.dur / 1e3);
  }
  return { profile: path.join(dir, file), nodes: [...nodes.values()] };
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function compare(got, ref, file) {
  if (got.length !== ref.data.length) fail(`${file}: ${ref.data.length} values, the model gave ${got.length}`);
  let maxDiff = 0, maxRef = 0, diff2 = 0, ref2 = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - ref.data[i]);
    maxDiff = Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref.data[i]));
    diff2 += d * d;
    ref2 += ref.data[i] * ref.data[i];
  }
  const rel = Math.sqrt(diff2 / (ref2 || 1));
  const line = `max abs difference ${maxDiff.toExponential(2)} (largest |reference| ${maxRef.toExponential(2)}), ` +
    `normwise relative error ${rel.toExponential(2)}`;
  if (!(rel <= TOLERANCE)) fail(`${file}: ONNX Runtime's output is off: ${line} (tolerance ${TOLERANCE})`);
  return line;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const x = readNpy(a.files[1]);
  if (!(x.data instanceof Float32Array)) fail(`${a.files[1]}: float64 input (the model takes float32)`);
  const options = {
    executionProviders: ['cpu'], intraOpNumThreads: a.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  };
  if (a.profile) Object.assign(options, { enableProfiling: true, profileFilePrefix: a.profile });
  let session;
  try {
    session = await ort.InferenceSession.create(a.files[0], options);
  } catch (e) {
    fail(`${a.files[0]}: ${e.message}`);
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
  const forward = async () => (await session.run(feeds))[session.outputNames[0]].data;
  if (a.check) {
    const line = compare(await forward(), readNpy(a.check), a.check);
    process.stdout.write(`ort_bench: ${path.basename(a.files[0])} against ${path.basename(a.check)}: ${line}\n`);
    return;
  }
  await forward(); // warm-up: the arena, the thread pool, the prepacked weights
  const times = [];
  for (let r = 0; r < a.repeat; r++) {
    const t0 = process.hrtime.bigint();
    await forward();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const result = {
    model: path.basename(a.files[0]), batch: x.shape[0], threads: a.threads, repeat: a.repeat,
    times_ms: times.map((t) => Math.round(t * 1e4) / 1e4), median_ms: Math.round(median(times) * 1e3) / 1e3,
    peak_rss_kb: process.resourceUsage().maxRSS, onnxruntime: ort.env.versions.node,
  };
  if (a.profile) {
    session.endProfiling();
    Object.assign(result, profileNodes(a.profile));
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => fail(e.stack || String(e)));
