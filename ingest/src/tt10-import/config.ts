import { z } from 'zod';

/**
 * The optional `tt10_import:` section of the ingest config: a drop folder where the agency's FTP server lands
 * TT10/2021 TXT files from third-party dataloggers (ingest/README.md, "TT10 import").
 */
export const Tt10ImportSchema = z
  .object({
    /** The drop folder (relative paths from the working directory). Only its top-level *.txt files are read. */
    dir: z.string().min(1),
    /** Where processed and rejected files go (default <dir>/done and <dir>/rejected). */
    done_dir: z.string().min(1).optional(),
    rejected_dir: z.string().min(1).optional(),
    /** Time zone of the stamps in the files, minutes east of UTC (Vietnam: 420). */
    utc_offset_min: z.number().int().min(-720).max(840).default(420),
    /** How often to look for files, and how long a file must be unchanged before it is read (FTP writes in place). */
    poll_ms: z.number().int().min(100).default(2000),
    settle_ms: z.number().int().min(0).default(2000),
    stations: z
      .array(
        z
          .object({
            /** The file name without `_yyyyMMddHHmmss.txt`: TenTinh_TenCoSo_TenTram, e.g. HN_ABCD_KK001 (case-insensitive). */
            file_prefix: z.string().min(1),
            /** A station id from `stations:`. */
            station: z.string().min(1),
            /** Extra or different symbols of this datalogger → catalogue codes, e.g. { "Nhiet do": WTEMP }. */
            symbols: z.record(z.string(), z.string()).default({}),
          })
          .strict(),
      )
      .min(1, 'map at least one file prefix to a station'),
  })
  .strict();
export type Tt10ImportConfig = z.infer<typeof Tt10ImportSchema>;
