import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

const ParameterSchema = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'codes are upper case letters, digits and _'),
  name: z.object({ en: z.string(), vi: z.string() }),
  unit: z.string(),
  range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'range must be [min, max] with min < max'),
  tt10: z.string().min(1),
  tt10_unit: z.string(),
  medium: z.enum(['air', 'water', 'stack', 'weather']),
  decimals: z.number().int().min(0).max(6),
  qc: z
    .object({ max_step_per_min: z.number().positive().optional(), flatline_min: z.number().positive().optional() })
    .strict()
    .optional(),
});
export type Parameter = z.infer<typeof ParameterSchema>;

const CatalogueSchema = z.object({ version: z.literal(1), parameters: z.array(ParameterSchema).min(1) });

/** The parameter catalogue, read once from `parameters.yaml`. */
export class Catalogue {
  private readonly byCode = new Map<string, Parameter>();

  constructor(readonly parameters: readonly Parameter[]) {
    for (const p of parameters) {
      if (this.byCode.has(p.code)) throw new Error(`parameter catalogue: code ${p.code} appears twice`);
      this.byCode.set(p.code, p);
    }
  }

  get(code: string): Parameter | undefined {
    return this.byCode.get(code);
  }

  has(code: string): boolean {
    return this.byCode.has(code);
  }

  codes(): string[] {
    return [...this.byCode.keys()];
  }
}

export function loadCatalogue(path: string | URL = new URL('../parameters.yaml', import.meta.url)): Catalogue {
  const parsed = CatalogueSchema.safeParse(parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`parameter catalogue ${String(path)} is invalid: ${issues}`);
  }
  return new Catalogue(parsed.data.parameters);
}

let cached: Catalogue | undefined;
/** The catalogue shipped with this package. */
export function catalogue(): Catalogue {
  cached ??= loadCatalogue();
  return cached;
}
