// scripts/wasm-component.mjs — read a wasm component's top-level sections. The component model's
// binary format nests each core module as a section with id 1; the application's is the largest
// (the others are small adapter shims). Used by scripts/optimize-component.mjs (to optimise the
// module in place) and bench/bundle/core-module.mjs (to profile it).

/** The largest core module in the component `bytes` (named `name` in errors): `{ start, end,
 * body }`, where start and end bound the whole section, header included. Throws if `bytes` is
 * not a component or holds no core module. */
export function largestCoreModule(bytes, name) {
  // A component's preamble: magic, then version 0x0d and layer 1.
  if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes[4] !== 0x0d || bytes[6] !== 0x01) {
    throw new Error(`${name} is not a wasm component`);
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
  if (!largest) throw new Error(`${name} holds no core module`);
  return largest;
}

/** `value` as an unsigned LEB128, as section sizes are written. */
export function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}
