// bench/bundle/core-module.mjs COMPONENT OUT — write the largest core module embedded in a wasm
// component (a Spin component built for wasm32-wasip2) to OUT, so twiggy, which reads core
// modules only, can profile it. The component model's binary format nests each core module as
// section 1 of the component; the application is the largest one (the rest are small shims).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: core-module.mjs COMPONENT OUT');
  process.exit(2);
}
const bytes = readFileSync(input);
// A component's preamble: magic, then version 0x0d and layer 1.
if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes[4] !== 0x0d || bytes[6] !== 0x01) {
  console.error(`${input} is not a wasm component`);
  process.exit(1);
}
let at = 8;
const leb = () => {
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
let largest = null;
while (at < bytes.length) {
  const id = bytes[at++];
  const size = leb();
  if (id === 1 && (!largest || size > largest.length)) largest = bytes.subarray(at, at + size);
  at += size;
}
if (!largest) {
  console.error(`${input} holds no core module`);
  process.exit(1);
}
writeFileSync(output, largest);
