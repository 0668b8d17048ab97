import { z } from 'zod';

/**
 * The `api:` and `dashboard:` sections of the ingest config: who may read and change what over HTTP, how fast,
 * and what the dashboard's map draws under the stations. Documented in ingest/README.md ("HTTP access").
 */

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const TokenSchema = z
  .object({
    /** Who holds it: shown in logs and in `GET /api/v1/session`, never the token itself. */
    name: z.string().min(1).max(64),
    role: z.enum(ROLES),
    /** `sha256$<64 hex>` of the token: make one with `npm run make-token -w @envmon/ingest`. */
    token_hash: z
      .string()
      .regex(/^sha256\$[0-9a-f]{64}$/, 'token_hash must be sha256$<64 hex digits> (run: npm run make-token -w @envmon/ingest)'),
  })
  .strict();
export type TokenConfig = z.infer<typeof TokenSchema>;

const BucketSchema = z
  .object({
    /** Sustained requests per second. */
    per_second: z.number().positive(),
    /** Requests allowed in a burst above the sustained rate (bucket size). */
    burst: z.number().int().positive(),
  })
  .strict();
export type BucketConfig = z.infer<typeof BucketSchema>;

const RATE_LIMIT_DEFAULT = {
  anonymous: { per_second: 10, burst: 200 },
  token: { per_second: 50, burst: 1000 },
};

export const ApiConfigSchema = z
  .object({
    tokens: z.array(TokenSchema).default([]),
    /**
     * `public`: the open-data read endpoints (stations, parameters, latest, series, aggregates, export, AQI, limits,
     * stream) answer without a token. `key`: they need any valid token (role viewer or above).
     */
    open_data: z.enum(['public', 'key']).default('public'),
    rate_limit: z
      .object({
        /** Requests without a token, per client IP. */
        anonymous: BucketSchema.default(RATE_LIMIT_DEFAULT.anonymous),
        /** Requests with a token, per token. */
        token: BucketSchema.default(RATE_LIMIT_DEFAULT.token),
        /** Behind a reverse proxy: take the client IP from X-Forwarded-For (only if the proxy sets it). */
        trust_proxy: z.boolean().default(false),
      })
      .strict()
      .default({ ...RATE_LIMIT_DEFAULT, trust_proxy: false }),
  })
  .strict()
  .superRefine((api, ctx) => {
    const names = new Set<string>();
    api.tokens.forEach((t, i) => {
      if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'name'], message: `token name "${t.name}" is used twice` });
      names.add(t.name);
    });
  });
export type ApiConfig = z.infer<typeof ApiConfigSchema>;

export const API_DEFAULTS: ApiConfig = { tokens: [], open_data: 'public', rate_limit: { ...RATE_LIMIT_DEFAULT, trust_proxy: false } };

const LIMITS_DEFAULT = { air: 'qcvn-05-2023', water: 'qcvn-40-2011', column: 'B' as const };

export const DashboardConfigSchema = z
  .object({
    map: z
      .object({
        /**
         * Optional background tiles, e.g. a tile server on the agency network: `https://tiles.example.vn/{z}/{x}/{y}.png`.
         * Without it the map draws the stations on a plain projection of their coordinates (works offline).
         * The ingest adds the tile server's origin to the page's Content-Security-Policy.
         */
        tile_url: z
          .string()
          .regex(/^(https?:\/\/|\/)[^\s"'<>]*\{z\}[^\s"'<>]*\{x\}[^\s"'<>]*\{y\}/, 'tile_url must be an http(s) or /path URL with {z}, {x} and {y}')
          .optional(),
        tile_attribution: z.string().max(200).optional(),
      })
      .strict()
      .default({}),
    /**
     * Which limit profile (ingest/limits/<id>.yaml) colours a station's live values, by medium, and which column of
     * a wastewater profile. Indicative colouring only: alarms (ingest/src/alarms/) apply the averaging periods.
     */
    limits: z
      .object({
        air: z.string().optional(),
        water: z.string().optional(),
        stack: z.string().optional(),
        weather: z.string().optional(),
        column: z.enum(['A', 'B']).default('B'),
      })
      .strict()
      .default(LIMITS_DEFAULT),
  })
  .strict();
export const DASHBOARD_DEFAULTS = { map: {}, limits: LIMITS_DEFAULT };
export type DashboardConfig = z.infer<typeof DashboardConfigSchema>;
