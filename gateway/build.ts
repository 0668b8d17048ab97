/**
 * The production build of the gateway: `npm run build -w @envmon/gateway` → gateway/dist/main.mjs, run by
 * deploy/systemd/envmon-gateway.service as `node gateway/dist/main.mjs`.
 *
 * Why: `node --import tsx` transpiles in a loader thread, a second V8 isolate that costs ≈ 40 MB RSS for the life
 * of the process, on a Pi with 1 GB. The build bundles only the repo's own TypeScript (gateway, @envmon/protocol,
 * @envmon/hardware) with esbuild; every npm package stays external and is loaded from node_modules as usual
 * (native addons, optional drivers loaded on demand, pino/protobufjs internals untouched). The files the
 * protocol and hardware read beside their sources (envmon.proto, parameters.yaml, profiles/) are still read
 * from the checkout: each `import.meta.url` is rewritten to the source file's URL relative to the bundle, so
 * dist/ must stay inside the repository (it does: /opt/envmon/gateway/dist).
 *
 *   npx tsx gateway/build.ts [entry.ts] [outfile.mjs]     (default: gateway/src/main.ts → gateway/dist/main.mjs)
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));

export async function buildGateway(entry = resolve(HERE, 'src/main.ts'), outfile = resolve(HERE, 'dist/main.mjs')): Promise<string> {
  const outDir = dirname(resolve(outfile));
  // Chunks of an earlier build (content-hashed names) would pile up beside the new ones.
  if (existsSync(outDir)) for (const f of readdirSync(outDir)) if (/^chunk-\w+\.mjs$/.test(f)) rmSync(resolve(outDir, f));
  const plugin: Plugin = {
    name: 'envmon-gateway',
    setup(b) {
      // npm packages stay external; the workspaces (@envmon/*, TypeScript sources) are bundled.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('@envmon/') || args.path.startsWith('node:')) return undefined;
        return { path: args.path, external: true };
      });
      // @envmon/hardware's index re-exports its simulators (modbus-serial servers, serialport): they have no side
      // effects, so the barrel import must not load them (and their packages) into the gateway.
      b.onResolve({ filter: /^\.\/simulator\/.*\.ts$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), sideEffects: false }));
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`) && !args.path.includes(`${sep}@envmon${sep}`)) return undefined;
        const rel = relative(outDir, args.path).split(sep).join('/');
        const src = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
        return { contents: src, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
  await build({
    entryPoints: [entry],
    // Code splitting keeps a lazy `await import()` lazy (TT10 with basic-ftp/ssh2, serial sensors, Firmata): without
    // it esbuild inlines the module and hoists its packages' imports to the top of the bundle.
    outdir: outDir,
    entryNames: basename(outfile, '.mjs'),
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [plugin],
    logLevel: 'error',
    legalComments: 'none',
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildGateway(process.argv[2] ? resolve(process.argv[2]) : undefined, process.argv[3] ? resolve(process.argv[3]) : undefined);
  console.log(`built ${relative(process.cwd(), out)}`);
}
