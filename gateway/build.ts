/**
 * The production build of the gateway: `npm run build -w @envmon/gateway` → gateway/dist/main.mjs, run by
 * deploy/systemd/envmon-gateway.service as `node gateway/dist/main.mjs`.
 *
 * Why: `node --import tsx` transpiles in a loader thread, a second V8 isolate that costs ≈ 40 MB RSS for the life
 * of the process, on a Pi with 1 GB. The build bundles the repo's own TypeScript (gateway, @envmon/protocol,
 * @envmon/hardware) AND the pure-JavaScript npm packages (zod, yaml, protobufjs, mqtt, pino, modbus-serial,
 * serialport's JS, …) into one minified file with esbuild. Why the packages too (gateway/README.md, Performance):
 * loaded from node_modules they are ≈ 360 CommonJS modules and 100 ES modules, each with its own module record,
 * wrapper, path strings and full source text kept in the V8 heap (comments and indentation included); bundled
 * and minified (whitespace and syntax only: identifiers keep their names, so stack traces stay readable) the
 * live heap and RSS drop by ≈ 5 MB. Only EXTERNAL stays in node_modules: native addons (found by their package's
 * own path logic) and the drivers loaded on demand (TT10 FTP/SFTP, Firmata), which a Modbus station never loads.
 * Bundled CommonJS code calls `require` for Node's built-ins and the externals: the banner gives the ES module a
 * real one (createRequire), resolving from dist/ like any file in the checkout.
 *
 * The files the protocol and hardware read beside their sources (envmon.proto, parameters.yaml, profiles/) are
 * still read from the checkout: each `import.meta.url` is rewritten to the source file's URL relative to the
 * bundle, so dist/ must stay inside the repository (it does: /opt/envmon/gateway/dist).
 *
 *   npx tsx gateway/build.ts [entry.ts] [outfile.mjs]     (default: gateway/src/main.ts → gateway/dist/main.mjs)
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Packages left in node_modules: native addons (better-sqlite3, serialport's bindings locate their .node file
 *  relative to their own package), and what only a lazy chunk imports (TT10: basic-ftp, ssh2-sftp-client with
 *  ssh2's optional native crypto; Firmata: johnny-five, firmata-io, with dynamic requires of their own). */
// Bundled CommonJS keeps no __dirname: the only packages that use it are pino's transports (worker-thread files),
// which the gateway does not use (one JSON line per log record on stdout). Put a package here if it ever needs it.
const EXTERNAL = ['better-sqlite3', '@serialport/bindings-cpp', 'johnny-five', 'firmata-io', 'basic-ftp', 'ssh2-sftp-client', 'ssh2'];

export async function buildGateway(entry = resolve(HERE, 'src/main.ts'), outfile = resolve(HERE, 'dist/main.mjs')): Promise<string> {
  const outDir = dirname(resolve(outfile));
  // Chunks of an earlier build (content-hashed names) would pile up beside the new ones.
  if (existsSync(outDir)) for (const f of readdirSync(outDir)) if (/^chunk-\w+\.mjs$/.test(f)) rmSync(resolve(outDir, f));
  const plugin: Plugin = {
    name: 'envmon-gateway',
    setup(b) {
      // Everything is bundled except EXTERNAL: native addons and the drivers loaded only on demand.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (!EXTERNAL.some((e) => args.path === e || args.path.startsWith(`${e}/`))) return undefined;
        return { path: args.path, external: true };
      });
      // @envmon/hardware's index re-exports its simulators (modbus-serial servers, serialport): they have no side
      // effects, so the barrel import must not load them (and their packages) into the gateway.
      b.onResolve({ filter: /^\.\/simulator\/.*\.ts$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), sideEffects: false }));
      // modbus-serial's index requires every port and server type when loaded, and with them serialport and its
      // native addon, even on a station with only Modbus TCP devices. Its connect functions (connectTCP,
      // connectRTUBuffered, …) require the port they need themselves, so the index's eager exports become lazy
      // getters: serialport is loaded only when a serial link is opened (TCP-only station: RSS −1 MB, no
      // serialport addon). modbus-serial is pinned (8.0.25); another version must be checked by hand, hence the
      // error instead of a silent fallback.
      b.onLoad({ filter: /[\\/]node_modules[\\/]modbus-serial[\\/]index\.js$/ }, (args) => {
        const src = readFileSync(args.path, 'utf8');
        const start = src.indexOf('module.exports.TestPort = require("./ports/testport");');
        const end = src.indexOf('module.exports.default = module.exports;');
        if (start < 0 || end < start) throw new Error(`gateway/build.ts: ${args.path} is not the modbus-serial 8.0.25 index the lazy-exports rewrite expects; check it`);
        const lazy = [
          ['TestPort', './ports/testport'],
          ['RTUBufferedPort', './ports/rtubufferedport'],
          ['TcpPort', './ports/tcpport'],
          ['TcpRTUBufferedPort', './ports/tcprtubufferedport'],
          ['TelnetPort', './ports/telnetport'],
          ['C701Port', './ports/c701port'],
          ['ServerTCP', './servers/servertcp'],
          ['ServerSerial', './servers/serverserial'],
        ]
          .map(([name, path]) => `Object.defineProperty(module.exports, ${JSON.stringify(name)}, { enumerable: true, configurable: true, get: () => require(${JSON.stringify(path)}) });\n`)
          .join('');
        return { contents: src.slice(0, start) + lazy + src.slice(end), loader: 'js', resolveDir: dirname(args.path) };
      });
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
    banner: { js: "import { createRequire as __envmonCreateRequire } from 'node:module'; const require = __envmonCreateRequire(import.meta.url);" },
    // V8 keeps every script's source text in the heap: whitespace and comments out, names kept (stack traces).
    // Renaming identifiers too saved nothing measurable in the bench (82–83 MB either way).
    minifyWhitespace: true,
    minifySyntax: true,
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildGateway(process.argv[2] ? resolve(process.argv[2]) : undefined, process.argv[3] ? resolve(process.argv[3]) : undefined);
  console.log(`built ${relative(process.cwd(), out)}`);
}
