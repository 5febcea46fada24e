// First-load JavaScript per page of the static export: every <script src> an exported page
// references, gzipped (level 9, as a server would send it) and summed. Chunks loaded later
// by dynamic import (the charts) are not first-load and are not counted, nor are the
// noModule polyfills that modern browsers never fetch.
// Usage: node scripts/first-load-size.mjs [--max-kb 250]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const OUT = new URL("../out/", import.meta.url).pathname;
const maxIndex = process.argv.indexOf("--max-kb");
const maxKb = maxIndex > 0 ? Number(process.argv[maxIndex + 1]) : Infinity;

function pages(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "_next") found.push(...pages(path));
    } else if (name === "index.html") found.push(path);
  }
  return found;
}

const cache = new Map();
function gzipped(src) {
  if (!cache.has(src)) {
    const file = join(OUT, src.replace(/^\//, "").split("?")[0]);
    cache.set(src, gzipSync(readFileSync(file), { level: 9 }).length);
  }
  return cache.get(src);
}

let failed = false;
const rows = [];
for (const html of pages(OUT).sort()) {
  const text = readFileSync(html, "utf8");
  // noModule scripts (legacy polyfills) are skipped by every browser that runs modules.
  const tags = [...text.matchAll(/<script[^>]+>/g)].map((m) => m[0]).filter((t) => !/nomodule/i.test(t));
  const srcs = new Set(tags.map((t) => /src="([^"]+\.js[^"]*)"/.exec(t)?.[1]).filter(Boolean));
  const total = [...srcs].reduce((sum, src) => sum + gzipped(src), 0);
  const route = `/${relative(OUT, html).replace(/index\.html$/, "")}`;
  const kb = total / 1024;
  if (kb > maxKb) failed = true;
  rows.push({ route, kb, scripts: srcs.size });
}
const width = Math.max(...rows.map((r) => r.route.length));
console.log(`${"page".padEnd(width)}  first-load JS (gzip)  scripts`);
for (const r of rows) {
  console.log(
    `${r.route.padEnd(width)}  ${`${r.kb.toFixed(1)} KB`.padStart(20)}  ${String(r.scripts).padStart(7)}`,
  );
}
if (failed) {
  console.error(`over the ${maxKb} KB limit`);
  process.exit(1);
}
