// What each page's first visit needs to download, read from the built site rather than from a browser: the main
// module, its JS loaders and the CSS, plus the page's piece of WASM and every chunk it shares with other pieces
// (cargo-leptos' split manifest), at their precompressed brotli size. A browser adds the HTTP headers of each file
// (about 0.3 kB each here), so bench/bundle.mjs's figures are a little higher. Usage:
// node bench/pieces.mjs [target/site/pkg]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'target/site/pkg';
const names = readdirSync(dir);
// `name.wasm` or, with hashed file names, `name.<hash>.wasm`; the brotli copy beside it.
function brotliBytes(stem, ext) {
  const matches = names.filter((file) => file.endsWith(`${ext}.br`) &&
    (file === `${stem}${ext}.br` || new RegExp(`^${stem.replace(/[.]/g, '\\.')}\\.[^.]+${ext.replace('.', '\\.')}\\.br$`).test(file)));
  if (matches.length !== 1) throw new Error(`expected one brotli file for ${stem}${ext}, found ${matches.length}`);
  return statSync(join(dir, matches[0])).size;
}

const manifestFile = names.find((file) => file.startsWith('__wasm_split_manifest') && file.endsWith('.json'));
if (!manifestFile) throw new Error(`no split manifest in ${dir}: build with cargo leptos build --release --split --precompress`);
const manifest = JSON.parse(readFileSync(join(dir, manifestFile), 'utf8'));
const shared = {
  'main WASM': brotliBytes('realm', '.wasm'),
  JS: brotliBytes('realm', '.js') + brotliBytes('__wasm_split', '.js'),
  CSS: brotliBytes('realm', '.css'),
};
const sharedTotal = Object.values(shared).reduce((sum, bytes) => sum + bytes, 0);
const kb = (bytes) => (bytes / 1000).toFixed(1);

console.log(`Every page: ${Object.entries(shared).map(([what, bytes]) => `${what} ${kb(bytes)} kB`).join(', ')}.`);
console.log();
console.log('| piece | WASM files of its own and shared | their brotli kB | first visit WASM+JS+CSS kB |');
console.log('|---|---:|---:|---:|');
for (const [piece, files] of Object.entries(manifest).sort()) {
  const bytes = files.reduce((sum, file) => sum + brotliBytes(file, '.wasm'), 0);
  console.log(`| ${piece.replace(/_\d+$/, '')} | ${files.length} | ${kb(bytes)} | ${kb(sharedTotal + bytes)} |`);
}
