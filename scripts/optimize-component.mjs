// scripts/optimize-component.mjs COMPONENT [WASM_OPT_ARGS...] — run wasm-opt ($WASM_OPT_BIN) on
// the application's core module inside a wasm component, in place. wasm-opt reads core modules
// only, and rustc's wasm32-wasip2 link (wasm-component-ld) wraps the module into a component
// without optimising it; the component refers to its core modules' imports and exports by name,
// which wasm-opt keeps, so the optimised module goes back in the same place (section 1, the
// largest core module; the others are small adapter shims). scripts/check-wit checks the result.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [component, ...wasmOptArgs] = process.argv.slice(2);
const wasmOpt = process.env.WASM_OPT_BIN;
if (!component || !wasmOpt) {
  console.error('usage: WASM_OPT_BIN=… optimize-component.mjs COMPONENT [WASM_OPT_ARGS...]');
  process.exit(2);
}
const bytes = readFileSync(component);
if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes[4] !== 0x0d || bytes[6] !== 0x01) {
  console.error(`${component} is not a wasm component`);
  process.exit(1);
}

let at = 8;
const readLeb = () => {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
};
const leb = (value) => {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
};

// Top-level sections: where the largest core module (id 1) starts and ends, header included.
let largest = null;
while (at < bytes.length) {
  const start = at;
  const id = bytes[at++];
  const size = readLeb();
  if (id === 1 && (!largest || size > largest.body.length)) {
    largest = { start, end: at + size, body: bytes.subarray(at, at + size) };
  }
  at += size;
}
if (!largest) {
  console.error(`${component} holds no core module`);
  process.exit(1);
}

const dir = mkdtempSync(path.join(tmpdir(), 'carefront-opt-'));
try {
  const input = path.join(dir, 'in.wasm');
  const output = path.join(dir, 'out.wasm');
  writeFileSync(input, largest.body);
  execFileSync(wasmOpt, [input, '-o', output, ...wasmOptArgs], { stdio: 'inherit' });
  const optimised = readFileSync(output);
  writeFileSync(
    component,
    Buffer.concat([
      bytes.subarray(0, largest.start),
      Buffer.from([1]),
      leb(optimised.length),
      optimised,
      bytes.subarray(largest.end),
    ]),
  );
  console.error(`${component}: core module ${largest.body.length} → ${optimised.length} bytes`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
