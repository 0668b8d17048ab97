import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  raw: string;
  fields: Record<string, string>;
  key: string | undefined;
  /** What the receiver answered. */
  status: number;
  duplicate: boolean;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for an agency's SMS gateway. It behaves like a careful gateway:
 * a request whose idempotency key it has already accepted is answered 200 but not "sent" again. `delivered`
 * holds what phones would have received: one entry per accepted key.
 */
export class SmsReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly delivered: { key: string; to: string; text: string; fields: Record<string, string> }[] = [];
  /** Answer the next N requests with 500 without accepting them (gateway down). */
  failNext = 0;
  /** Accept the next N requests but answer 500 (the response is lost: the client must retry with the same key). */
  acceptButFailNext = 0;
  /** Refuse everything with 500 while true. */
  down = false;
  /** When set, requests whose signature header does not match are answered 401. */
  hmacSecret?: string;
  signatureHeader = 'x-signature';
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const ct = req.headers['content-type'] ?? '';
        const fields = ct.includes('json') ? (JSON.parse(raw) as Record<string, string>) : Object.fromEntries(new URLSearchParams(raw));
        const key = req.headers['idempotency-key'] as string | undefined;
        const reply = (status: number, duplicate = false) => {
          this.requests.push({ headers: req.headers, raw, fields, key, status, duplicate });
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status }));
        };
        if (this.hmacSecret) {
          const want = `sha256=${createHmac('sha256', this.hmacSecret).update(raw).digest('hex')}`;
          if (req.headers[this.signatureHeader] !== want) return reply(401);
        }
        if (this.down) return reply(500);
        if (this.failNext > 0) {
          this.failNext--;
          return reply(500);
        }
        const duplicate = key !== undefined && this.delivered.some((d) => d.key === key);
        if (!duplicate) this.delivered.push({ key: key ?? `nokey-${this.requests.length}`, to: fields.to ?? '', text: fields.text ?? fields.message ?? '', fields });
        if (this.acceptButFailNext > 0) {
          this.acceptButFailNext--;
          return reply(500, duplicate);
        }
        reply(200, duplicate);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/sms`;
    return this;
  }

  deliveredTo(phone: string): { key: string; text: string }[] {
    return this.delivered.filter((d) => d.to === phone);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
