import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/**
 * Reads a YAML file and validates it with a zod schema. Every problem is reported as
 * `file:line path: message`, all of them at once, so a user fixes a file in one pass.
 *
 * Used by every room for its YAML files: device profiles, gateway and ingest configs, alarm rules, recipients,
 * limit profiles.
 */

export interface ConfigIssue {
  file: string;
  line: number | undefined;
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly issues: ConfigIssue[];
  /**
   * `new ConfigError(file, issues)` for validation results; `new ConfigError(message)` for a check across fields
   * whose message already names the file and what to change.
   */
  constructor(fileOrMessage: string, issues?: ConfigIssue[]) {
    super(issues ? `${fileOrMessage} is invalid:\n${issues.map(formatIssue).join('\n')}` : fileOrMessage);
    this.file = issues ? fileOrMessage : '';
    this.issues = issues ?? [];
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `  ${i.file}${i.line !== undefined ? `:${i.line}` : ''} ${i.path || '(top level)'}: ${i.message}`;
}

/** Parses YAML text (already read from `fileName`) and validates it. Throws ConfigError. */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, fileName: string): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      fileName,
      doc.errors.map((e) => ({
        file: fileName,
        line: e.linePos?.[0]?.line,
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]} (check indentation and quoting on this line)`,
      })),
    );
  }
  const data: unknown = doc.toJS();
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new ConfigError(
    fileName,
    result.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      return {
        file: fileName,
        line: lineOf(doc, lineCounter, path, issue.code === 'unrecognized_keys' ? issue.keys : undefined),
        path: formatPath(path),
        message: explain(issue, data, path, schema),
      };
    }),
  );
}

/** Reads and validates a YAML file; a missing file is a ConfigError too. */
export function loadYamlWith<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, [
      { file, line: undefined, path: '', message: `cannot read the file (${e.code ?? e.message}); check the path` },
    ]);
  }
  return parseYamlWith(schema, text, file);
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * Turns a zod issue into a sentence that says what to change. Schemas carry their own fix in custom messages;
 * the generic cases (missing field, unknown key, wrong type) are phrased here.
 */
function explain(issue: z.core.$ZodIssue, data: unknown, path: readonly (string | number)[], schema: z.ZodType): string {
  const absent = valueAt(data, path) === undefined;
  const field = String(path.at(-1) ?? 'it');
  switch (issue.code) {
    case 'invalid_type':
      if (absent) return `missing: add \`${field}\` (${issue.expected})`;
      return `expected ${issue.expected}, found ${describe(valueAt(data, path))}`;
    case 'invalid_union':
      return absent ? `missing: add \`${field}\`; ${issue.message}` : issue.message;
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, path);
      return issue.keys
        .map((k) => {
          const guess = closest(k, known);
          return `unknown field \`${k}\`${guess ? `: did you mean \`${guess}\`?` : '; remove it'}`;
        })
        .join('; ');
    }
    case 'invalid_value':
      if (absent) return `missing: add \`${field}\`, one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return `${describe(valueAt(data, path))} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  element?: { _zod: { def: SchemaDef } };
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
}

// zod does not put the allowed keys in an unrecognized_keys issue, so find the object schema at `path`.
function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let def: SchemaDef | undefined = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = (): void => {
    while (def && (def.innerType || def.in)) def = (def.innerType ?? def.in)!._zod.def;
  };
  unwrap();
  for (const seg of path) {
    if (!def) return [];
    if (def.type === 'object' && typeof seg === 'string') def = def.shape?.[seg]?._zod.def;
    else if (def.type === 'array' && typeof seg === 'number') def = def.element?._zod.def;
    else return [];
    unwrap();
  }
  return def?.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/**
 * The line of the node at `path`, or of its nearest existing ancestor (a missing key is reported where its
 * parent starts). For unknown keys, the line of the first such key.
 */
function lineOf(doc: Document, counter: LineCounter, path: readonly (string | number)[], keys?: string[]): number | undefined {
  let node: unknown = doc.contents;
  let line = startLine(node, counter);
  for (const seg of path) {
    const next = child(node, seg);
    if (!next) break;
    node = next.value ?? next.key;
    line = startLine(next.key ?? next.value, counter) ?? line;
    // Point at the value itself when it is a scalar on its own line (e.g. a list item), else at its key.
    if (!next.key) line = startLine(next.value, counter) ?? line;
  }
  if (keys?.length) {
    const k = child(node, keys[0]!);
    line = startLine(k?.key, counter) ?? line;
  }
  return line;
}

function child(node: unknown, seg: string | number): { key?: Node | undefined; value?: Node | undefined } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
    return pair ? { key: pair.key as Node, value: (pair.value ?? undefined) as Node | undefined } : undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item ? { value: item as Node } : undefined;
  }
  return undefined;
}

function startLine(node: unknown, counter: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}

/** The known name nearest to `word` (edit distance ≤ 2, or a different case), for "did you mean" hints. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = k.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
