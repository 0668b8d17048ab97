import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

/**
 * Parses YAML and validates it with a zod schema; every error names the file, the line and what to change.
 * Shared by every YAML file the ingest reads (stations, later rules and recipients).
 */
export function parseYamlWith<T>(schema: z.ZodType<T>, text: string, fileName: string): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${fileName}${pos ? `:${pos.line}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const line = lineOf(doc, lineCounter, issue.path as (string | number)[]);
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    return `${fileName}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  // Walk up the path until a node exists (a missing key is reported at its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}
