export { startIngest, DEFAULT_DASHBOARD_DIR, type IngestOptions, type RunningIngest } from './ingest.ts';
export { parseIngestConfig, loadIngestConfig, type IngestConfig, type StationConfig } from './config/config.ts';
export { hashSecret, verifySecret } from './broker/secrets.ts';
export type { Store, StoredReading, Series, SeriesQuery } from './store/store.ts';
