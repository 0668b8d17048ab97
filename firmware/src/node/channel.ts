/**
 * One measured parameter: averages its samples over a window and decides the window's status.
 * Status 02 (TT10 device error) when the window had no valid sample (no frame, sensor gone), too many
 * checksum/CRC/read errors, or the raw value was stuck (identical for `stuckSamples` samples in a row).
 */
export const STATUS_OK = 0;
export const STATUS_ERROR = 2;
/**
 * QC flag for a PM value measured above the humidity limit (optical counters overestimate PM in humid air,
 * anchors.md §4). Bit 5, QcFlag.HUMIDITY in protocol/src/status.ts (mirrored: the bundle imports nothing).
 */
export const QC_HUMIDITY = 1 << 5;

export interface WindowResult {
  value: number | null;
  status: number;
  reason: string;
}

export class Channel {
  sum = 0;
  n = 0;
  errors = 0;
  lastError = '';
  stuck = false;
  private stuckInWindow = false;
  private lastFp: string | number | null = null;
  private same = 0;

  constructor(
    readonly slot: number,
    readonly param: string,
    private readonly stuckSamples: number,
    private readonly maxErrors: number,
  ) {}

  /** A valid sample; `fp` is the raw reading it came from, compared for stuck detection. */
  add(value: number, fp: string | number): void {
    if (fp === this.lastFp) this.same++;
    else {
      this.same = 1;
      this.lastFp = fp;
      this.stuck = false;
    }
    if (this.same >= this.stuckSamples) this.stuck = true;
    if (this.stuck) this.stuckInWindow = true;
    this.sum += value;
    this.n++;
  }

  fail(reason: string): void {
    this.errors++;
    this.lastError = reason;
  }

  /** Ends the window: the mean and status, then starts a new window. */
  close(): WindowResult {
    let status = STATUS_OK;
    let reason = '';
    if (this.n === 0) {
      status = STATUS_ERROR;
      reason = this.errors ? this.lastError : 'no sample';
    } else if (this.errors >= this.maxErrors) {
      status = STATUS_ERROR;
      reason = this.errors + ' errors: ' + this.lastError;
    } else if (this.stuckInWindow) {
      status = STATUS_ERROR;
      reason = 'stuck value';
    }
    const value = this.n ? this.sum / this.n : null;
    this.sum = 0;
    this.n = 0;
    this.errors = 0;
    this.stuckInWindow = this.stuck;
    return { value, status, reason };
  }
}
