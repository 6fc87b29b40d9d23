// Writes every C2SP CCTV age test vector from the pinned npm package `cctv-age` into the
// directory given as the first argument, one file per vector, named as in the package.
import * as vectors from "cctv-age";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node dump-vectors.mjs OUTDIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
let count = 0;
for (const [name, data] of Object.entries(vectors)) {
  if (name === "default") continue;
  writeFileSync(join(out, name), data);
  count++;
}
console.log(count);
