// Adds the dark-mode twin of each light colour class in the dashboard's sources (Tailwind's dark:
// variant, which follows prefers-color-scheme): bg-white gets dark:bg-slate-900, text-slate-700
// dark:text-slate-200, bg-rose-50 dark:bg-rose-950/40, and so on; a class that already has its
// twin (a dark: class of the same kind on its line) is left alone. `node scripts/dark-variants.mjs`
// rewrites apps/web/src in place (run it after adding classes); `--check` lists the classes
// without a twin and exits 1 if there are any (tests/repo/dark-variants.test.ts).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'web', 'src');
const COLORS = 'rose|emerald|amber|sky|violet|orange|indigo';
const TOKEN = new RegExp(
  `(?<=[\\s'"\`{])((?:hover:|disabled:|placeholder:|backdrop:)?)(bg|text|ring|border|divide)-(white|slate|${COLORS})(?:-(\\d+))?(/\\d+)?(?=[\\s'"\`}])`,
  'g',
);
/** Lines of the always-dark sidebar (Shell.tsx): their colours stay as they are. */
const DARK_ALREADY = ['bg-slate-900 text-slate-300', 'bg-slate-800 text-white'];

/** The dark twin of one light class, without `dark:`; null: none needed. */
function twin(v, util, color, shade, opacity) {
  if (color === 'white') {
    if (v) return null;
    return util === 'bg' ? 'bg-slate-900' : util === 'ring' ? 'ring-slate-900' : null;
  }
  const s = Number(shade);
  if (color === 'slate') {
    if (util === 'bg') {
      if (v === 'backdrop:') return null;
      if (v === 'hover:' && s === 100) return 'hover:bg-slate-700';
      const m = { 50: v ? 'slate-800' : 'slate-950', 100: 'slate-800', 200: 'slate-700', 300: 'slate-600' }[s];
      return m ? `${v}bg-${m}` : null;
    }
    if (util === 'text') {
      if (v === 'hover:' && s >= 700) return 'hover:text-white';
      if (v === 'disabled:') return 'disabled:text-slate-600';
      const m = { 900: 'slate-100', 800: 'slate-200', 700: 'slate-200', 600: 'slate-300', 500: 'slate-400', 400: 'slate-500' }[s];
      return m ? `${v}text-${m}` : null;
    }
    const m = { 100: 'slate-800', 200: 'slate-700', 300: 'slate-600' }[s];
    return m ? `${v}${util}-${m}` : null;
  }
  if (util === 'bg') {
    if (s === 50) return `${v}bg-${color}-950/${opacity ? 30 : 40}`;
    if (s === 100) return `${v}bg-${color}-900/50`;
    return null;
  }
  if (util === 'text' && !v) return s >= 700 ? `text-${color}-300` : s === 500 || s === 600 ? `text-${color}-400` : null;
  if (util === 'ring' && !v && (s === 200 || s === 300)) return `ring-${color}-800`;
  return null;
}

/**
 * @param {string} dir
 * @returns {string[]}
 */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const check = process.argv.includes('--check');
const missing = [];
for (const file of files(SRC)) {
  const src = readFileSync(file, 'utf8');
  const lines = src.split('\n').map((line, i) => {
    if (DARK_ALREADY.some((d) => line.includes(d))) return line;
    return line.replace(TOKEN, (whole, v, util, color, shade, opacity) => {
      if (color !== 'white' && shade === undefined) return whole;
      const t = twin(v, util, color, shade, opacity);
      // a dark class of the same kind on the line counts as its twin (e.g. inputs: dark:bg-slate-800)
      if (!t || line.includes(`dark:${v}${util}-`)) return whole;
      missing.push(`${file}:${i + 1}: ${whole} has no dark:${t}`);
      return `${whole} dark:${t}`;
    });
  });
  const out = lines.join('\n');
  if (!check && out !== src) writeFileSync(file, out);
}
if (check) {
  for (const m of missing) console.log(m);
  process.exit(missing.length ? 1 : 0);
}
console.log(`added ${missing.length} dark: classes`);
