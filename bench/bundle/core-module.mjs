// bench/bundle/core-module.mjs COMPONENT OUT — write the largest core module embedded in a wasm
// component (a Spin component built for wasm32-wasip2) to OUT, so twiggy, which reads core
// modules only, can profile it. The component model's binary format nests each core module as
// section 1 of the component; the application is the largest one (the rest are small shims).
import { readFileSync, writeFileSync } from 'node:fs';
import { largestCoreModule } from '../../scripts/wasm-component.mjs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: core-module.mjs COMPONENT OUT');
  process.exit(2);
}
let largest;
try {
  largest = largestCoreModule(readFileSync(input), input).body;
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
writeFileSync(output, largest);
