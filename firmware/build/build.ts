import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { checkEspruinoSubset, formatIssues, type SubsetIssue } from './check-subset.ts';

/**
 * Builds the Espruino bundle:
 *   1. esbuild bundles src/main.ts and its imports into one script (IIFE), stripping types, no downlevelling;
 *   2. TypeScript's own transpiler lowers it to ES5 (esbuild refuses some ES5 lowering, e.g. classes with fields);
 *   3. esbuild minifies the ES5 (target es5, so it adds no newer syntax);
 *   4. check-subset.ts rejects anything Espruino would not run; the size must be ≤ 32 KB.
 */
export const FIRMWARE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SIZE_LIMIT = 32 * 1024;

export interface BuildResult {
  code: string;
  bytes: number;
  issues: SubsetIssue[];
}

export async function buildBundle(entry = join(FIRMWARE_DIR, 'src/main.ts'), minify = true): Promise<BuildResult> {
  const bundled = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'esnext',
    write: false,
    legalComments: 'none',
    charset: 'ascii',
    logLevel: 'silent',
    // Espruino's built-in modules are reached through this plain function: a require() call in the ESM source
    // would make esbuild add a __require shim (with Proxy), which Espruino lacks.
    banner: { js: 'var espruinoRequire = function (name) { return require(name); };' },
  });
  const esnext = bundled.outputFiles[0]!.text;
  const es5 = ts.transpileModule(esnext, {
    fileName: 'bundle.js',
    compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None, allowJs: true, removeComments: true, downlevelIteration: false },
    reportDiagnostics: false,
  }).outputText;
  const code = minify ? (await esbuild.transform(es5, { minify: true, target: 'es5', charset: 'ascii', legalComments: 'none' })).code : es5;
  return { code, bytes: Buffer.byteLength(code), issues: checkEspruinoSubset(code) };
}

async function main(): Promise<void> {
  const out = join(FIRMWARE_DIR, 'dist/envmon-node.js');
  const r = await buildBundle();
  if (r.issues.length) {
    console.error(formatIssues(r.issues, 'dist/envmon-node.js'));
    console.error(`firmware: ${r.issues.length} construct(s) outside Espruino's subset; bundle not written`);
    process.exit(1);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, r.code);
  const kb = (r.bytes / 1024).toFixed(1);
  console.log(`firmware: dist/envmon-node.js ${r.bytes} bytes (${kb} KB of ${SIZE_LIMIT / 1024} KB), Espruino subset check passed`);
  if (r.bytes > SIZE_LIMIT) {
    console.error(`firmware: bundle is ${r.bytes} bytes, over the ${SIZE_LIMIT}-byte limit`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
