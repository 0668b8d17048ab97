/**
 * The little of `node-red` (4.1.x, CommonJS, no bundled types) and `express` (4.x, brought in by node-red) that
 * the embedding uses. Kept here instead of @types packages: the surface is five calls.
 */
declare module 'node-red' {
  import type { Server } from 'node:http';
  import type { RequestListener } from 'node:http';

  interface NodeRedRuntime {
    init(server: Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    /** Express apps: the editor and admin API, and the flows' HTTP-in endpoints. */
    readonly httpAdmin: RequestListener;
    readonly httpNode: RequestListener;
    readonly version: () => string;
  }
  const RED: NodeRedRuntime;
  export default RED;
}

declare module 'express' {
  import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

  type Next = (err?: unknown) => void;
  type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
  type ErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void;
  interface Application extends RequestListener {
    (req: IncomingMessage, res: ServerResponse, next?: Next): void;
    use(path: string, ...handlers: (Handler | ErrorHandler | RequestListener)[]): Application;
    use(...handlers: (Handler | ErrorHandler | RequestListener)[]): Application;
    disable(setting: string): Application;
  }
  function express(): Application;
  export default express;
}
