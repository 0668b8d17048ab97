/**
 * Node-RED embedded in the ingest process, on the ingest's own HTTP server (shared/research/stack-notes.md,
 * "Node-RED embedded beside Hono"): the server's listener sends `/flows` and `/flows/*` to the Express app made
 * here — the flows' HTTP endpoints (`RED.httpNode`, mounted first, at `/flows/http`) and the editor and admin API
 * (`RED.httpAdmin`, at `/flows`) — and everything else to Hono. `RED.init(server, …)` gets the raw http.Server so
 * the editor's `/flows/comms` WebSocket attaches to its `upgrade` event (passing an app instead is what makes the
 * editor say "lost connection").
 *
 * Node-RED keeps process-wide state and cannot be restarted in a process once stopped: one ingest per process may
 * embed it.
 */
/// <reference path="./vendor.d.ts" />
// (The reference carries the vendor types into every program that reaches this file, e.g. the dashboards' tests.)
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import RED from 'node-red';
import type { Logger } from 'pino';
import type { TokenStore } from '../api/auth.ts';
import { FLOWS_ROOT, gate, HTTP_IN_ROOT, NODE_RED_TOKEN_HEADER, upgradeGate, type Need } from './access.ts';
import type { EnvmonBridge } from './bridge.ts';
import { FLOW_FILE, nodeRedUserDir, type NodeRedConfig } from './config.ts';
import { credentialSecret } from './secret.ts';

export const NODES_DIR = fileURLToPath(new URL('./nodes/', import.meta.url));

export interface NodeRedOptions {
  server: Server;
  config: NodeRedConfig;
  dataDir: string;
  tokens: TokenStore;
  bridge: EnvmonBridge;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

export interface EmbeddedNodeRed {
  /** Serves a request whose path is `/flows` or under it. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  userDir: string;
  flowFile: string;
  version: string;
  stop(): Promise<void>;
}

let started = false;

/** Node-RED log levels (fatal 10 … trace 60, audit 98, metric 99) onto pino. */
function pinoHandler(log: Logger) {
  return () => (msg: { level: number; msg?: unknown; type?: string; id?: string; name?: string; event?: string; [k: string]: unknown }) => {
    const where = { nodeType: msg.type, nodeId: msg.id, nodeName: msg.name };
    const text = msg.msg instanceof Error ? msg.msg.message : typeof msg.msg === 'string' ? msg.msg : JSON.stringify(msg.msg ?? msg.event ?? '');
    if (msg.level === 98) log.info({ ...where, audit: msg.event, user: (msg.user as { username?: string } | undefined)?.username }, 'node-red audit');
    else if (msg.level <= 10) log.fatal(where, text);
    else if (msg.level <= 20) log.error(where, text);
    else if (msg.level <= 30) log.warn(where, text);
    else if (msg.level <= 40) log.info(where, text);
    else log.debug(where, text);
  };
}

export async function startNodeRed(o: NodeRedOptions): Promise<EmbeddedNodeRed> {
  if (started) throw new Error('Node-RED is already embedded in this process (it cannot run twice, nor restart once stopped)');
  started = true;
  const log = o.log.child({ component: 'node-red' });
  const userDir = nodeRedUserDir(o.config, o.dataDir);
  mkdirSync(userDir, { recursive: true });
  const secret = credentialSecret(userDir, o.env);
  const httpIn = (): Need => o.config.http_in_access;

  const settings: Record<string, unknown> = {
    userDir,
    flowFile: FLOW_FILE,
    flowFilePretty: true,
    credentialSecret: secret.secret,
    httpAdminRoot: FLOWS_ROOT,
    httpNodeRoot: HTTP_IN_ROOT,
    nodesDir: [NODES_DIR],
    // Our own sign-in (access.ts) in front; Node-RED verifies the token it passes on once more.
    adminAuth: {
      tokenHeader: NODE_RED_TOKEN_HEADER,
      tokens: async (token: string) => {
        const p = o.tokens.verify(token);
        return p && p.role === 'admin' ? { username: p.name, permissions: '*' } : null;
      },
    },
    // Nothing leaves the machine on its own: no telemetry, no update checks, no npm installs from the editor.
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
    editorTheme: {
      page: { title: 'envmon flows' },
      header: { title: 'envmon flows' },
      projects: { enabled: false },
      tours: false,
      welcomeTours: false,
      codeEditor: { lib: 'monaco' },
    },
    logging: { envmon: { level: 'info', audit: false, metrics: false, handler: pinoHandler(log) } },
    // For our nodes (nodes/*.js): RED.settings.envmon.
    envmon: o.bridge,
  };

  RED.init(o.server, settings);
  // Added after RED.init and before RED.start (which adds Node-RED's own comms listener): this gate runs first.
  o.server.prependListener('upgrade', upgradeGate(o.tokens, httpIn));
  const app = express();
  app.disable('x-powered-by');
  const notFound = (req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
  };
  // An HTTP endpoint no flow serves is a 404 here, not a refusal by the admin gate below.
  app.use(HTTP_IN_ROOT, gate(o.tokens, httpIn), RED.httpNode, (req: IncomingMessage, res: ServerResponse) => notFound(req, res));
  app.use(FLOWS_ROOT, gate(o.tokens, () => 'admin'), RED.httpAdmin);
  try {
    await RED.start();
  } catch (err) {
    await RED.stop().catch(() => undefined);
    throw err;
  }
  const version = RED.version();
  log.info({ userDir, version, credentialSecret: secret.source }, 'Node-RED ready under /flows');

  let stopping: Promise<void> | undefined;
  return {
    handle: (req, res) => app(req, res, () => notFound(req, res)),
    userDir,
    flowFile: join(userDir, FLOW_FILE),
    version,
    stop() {
      stopping ??= RED.stop();
      return stopping;
    },
  };
}
