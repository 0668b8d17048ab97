// Builds the dashboard to static files in dist/, which the ingest serves at `/`:
//   app.js (+ .map)  the bundled TypeScript (src/main.ts and uPlot), minified, ES2020 for older kiosk browsers
//   index.html, styles.css, uplot.css
// `node build.mjs` once; `node build.mjs --watch` rebuilds on change while you work on the page.
import { build, context } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const watch = process.argv.includes('--watch');
const started = performance.now();

// uplot is hoisted to the root node_modules by npm workspaces; resolve it rather than guess the path.
const require = createRequire(import.meta.url);
const uplotCss = join(dirname(require.resolve('uplot')), 'uPlot.min.css');

/** @type {import('esbuild').BuildOptions} */
const options = {
  entryPoints: [join(src, 'main.ts')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome80', 'firefox78', 'safari14'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked', // uPlot's MIT notice goes to app.js.LEGAL.txt rather than being dropped
  logLevel: 'warning',
};

async function copyStatic() {
  await copyFile(join(src, 'index.html'), join(dist, 'index.html'));
  await copyFile(join(src, 'styles.css'), join(dist, 'styles.css'));
  await copyFile(uplotCss, join(dist, 'uplot.css'));
}

async function printSizes() {
  const files = (await readdir(dist)).sort();
  let total = 0;
  for (const f of files) {
    const { size } = await stat(join(dist, f));
    if (!f.endsWith('.map')) total += size;
    console.log(`  dist/${f.padEnd(22)} ${(size / 1024).toFixed(1).padStart(7)} KiB`);
  }
  console.log(`  served total (without maps)  ${(total / 1024).toFixed(1).padStart(7)} KiB`);
}

// A clean dist/ so a renamed or deleted file never lingers and gets served.
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

if (watch) {
  const ctx = await context({
    ...options,
    plugins: [
      {
        name: 'copy-static',
        setup(b) {
          b.onEnd(async (r) => {
            if (r.errors.length === 0) {
              await copyStatic();
              console.log(`dashboards: rebuilt ${new Date().toLocaleTimeString()}`);
            }
          });
        },
      },
    ],
  });
  await ctx.watch();
  console.log('dashboards: watching src/ (index.html and CSS are copied on each rebuild)');
} else {
  await build(options);
  await copyStatic();
  console.log(`dashboards: built dist/ in ${Math.round(performance.now() - started)} ms`);
  await printSizes();
}
