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
import { largestCoreModule, leb } from './wasm-component.mjs';

const [component, ...wasmOptArgs] = process.argv.slice(2);
const wasmOpt = process.env.WASM_OPT_BIN;
if (!component || !wasmOpt) {
  console.error('usage: WASM_OPT_BIN=… optimize-component.mjs COMPONENT [WASM_OPT_ARGS...]');
  process.exit(2);
}
const bytes = readFileSync(component);
let largest;
try {
  largest = largestCoreModule(bytes, component);
} catch (error) {
  console.error(error.message);
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
