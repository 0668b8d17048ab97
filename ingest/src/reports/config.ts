import { z } from 'zod';

/**
 * The optional `reports:` section of the ingest config: which QCVN limit profile (ingest/limits/*.yaml) judges each
 * station in the compliance report (ingest/README.md, "Compliance and completeness reports").
 */
export const ReportsSchema = z
  .object({
    stations: z
      .record(
        z.string(),
        z
          .object({
            /** A profile id from ingest/limits (qcvn-05-2023, qcvn-40-2011, …). */
            profile: z.string().min(1),
            /** QCVN 40 column for this discharge. */
            column: z.enum(['A', 'B']).optional(),
            /** QCVN 40:2011 Cmax = C × Kq × Kf: from the station's permit (the tables are unconfirmed). */
            kq: z.number().positive().optional(),
            kf: z.number().positive().optional(),
          })
          .strict(),
      )
      .default({}),
    /** Judge against limit values marked unconfirmed in their profile (the report then flags them). */
    allow_unconfirmed: z.boolean().default(false),
  })
  .strict();
export type ReportsConfig = z.infer<typeof ReportsSchema>;
