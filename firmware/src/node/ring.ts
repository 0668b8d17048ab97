/**
 * Readings waiting to be sent, in RAM, within a fixed byte budget (airrohr keeps nothing during an outage).
 * Struct of typed arrays, 10 bytes per reading: time in Unix seconds (u32), value (f32, NaN = no value),
 * slot (u8), status (u8, low 2 bits) + QC flags (high 6 bits). When full, the oldest reading is dropped and
 * counted. Every reading has an absolute index (`first` is the oldest one's), so a batch in flight can be
 * acknowledged even if overflow dropped part of it meanwhile.
 */
export const RING_RECORD_BYTES = 10;

export interface RingRecord {
  time: number; // Unix seconds
  value: number; // NaN for no value
  slot: number;
  status: number;
  qc: number;
}

export class Ring {
  readonly capacity: number;
  /** Absolute index of the oldest stored reading. */
  first = 0;
  count = 0;
  dropped = 0;
  private head = 0; // array position of the oldest
  private readonly times: Uint32Array;
  private readonly values: Float32Array;
  private readonly slots: Uint8Array;
  private readonly flags: Uint8Array;

  constructor(budgetBytes: number) {
    this.capacity = Math.floor(budgetBytes / RING_RECORD_BYTES);
    if (this.capacity < 1) throw new Error('ring budget ' + budgetBytes + ' B holds no reading');
    this.times = new Uint32Array(this.capacity);
    this.values = new Float32Array(this.capacity);
    this.slots = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
  }

  /** Bytes of RAM the storage takes (the budget rounded down to whole records). */
  bytes(): number {
    return this.capacity * RING_RECORD_BYTES;
  }

  push(r: RingRecord): void {
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.first++;
      this.count--;
      this.dropped++;
    }
    const at = (this.head + this.count) % this.capacity;
    this.times[at] = r.time;
    this.values[at] = r.value;
    this.slots[at] = r.slot;
    this.flags[at] = (r.status & 3) | ((r.qc & 63) << 2);
    this.count++;
  }

  /** The reading with absolute index `abs`, or undefined when it was dropped or not written yet. */
  get(abs: number): RingRecord | undefined {
    if (abs < this.first || abs >= this.first + this.count) return undefined;
    const at = (this.head + (abs - this.first)) % this.capacity;
    const f = this.flags[at]!;
    return { time: this.times[at]!, value: this.values[at]!, slot: this.slots[at]!, status: f & 3, qc: f >> 2 };
  }

  /** Forgets every reading with an absolute index below `abs` (acknowledged upstream). */
  dropBefore(abs: number): void {
    while (this.count > 0 && this.first < abs) {
      this.head = (this.head + 1) % this.capacity;
      this.first++;
      this.count--;
    }
  }
}
