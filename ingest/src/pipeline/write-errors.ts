/**
 * What to do when a store write fails. Modelled on what InfluxDB's own clients learned:
 * - transient (no response, 408, 425, 429, 5xx, or an error without an HTTP status such as a busy disk):
 *   retry the same batch later, honouring Retry-After;
 * - the batch is unacceptable (400, 413, 422, or a reading the store's own checks refuse): split it to find the
 *   offending readings, dead-letter only those, and write the rest. Retrying such a batch would block the WAL forever.
 */
export type WriteFailure = { kind: 'retry'; retryAfterMs?: number; message: string } | { kind: 'split'; message: string };

const SPLIT_STATUSES = new Set([400, 413, 422]);

export function classifyWriteError(err: unknown): WriteFailure {
  const e = err as { status?: unknown; retryAfterMs?: unknown; serverMessage?: unknown; message?: unknown };
  const message = typeof e?.serverMessage === 'string' ? e.serverMessage : err instanceof Error ? err.message : String(err);
  // The stores' input checks throw TypeError: a reading that can never be written.
  if (err instanceof TypeError) return { kind: 'split', message };
  if (typeof e?.status === 'number') {
    if (SPLIT_STATUSES.has(e.status)) return { kind: 'split', message };
    const retryAfterMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
    return retryAfterMs === undefined ? { kind: 'retry', message } : { kind: 'retry', retryAfterMs, message };
  }
  return { kind: 'retry', message };
}
