import type { Platform } from '../platform/types.ts';

/**
 * Batch sequence numbers that increase across restarts (DESIGN: `seq` increases per station). Flash wears,
 * so the counter is reserved in blocks: Storage holds the end of the current block; after a reset the node
 * continues from there, skipping at most one block of numbers but never repeating one.
 */
export const SEQ_FILE = 'envmon.seq';

export class SeqCounter {
  private next: number;
  private reserved: number;

  constructor(
    private readonly platform: Platform,
    private readonly block: number,
  ) {
    const stored = platform.readJSON(SEQ_FILE) as { reserved?: number } | undefined;
    this.next = stored && typeof stored.reserved === 'number' ? stored.reserved : 1;
    this.reserved = this.next;
  }

  take(): number {
    if (this.next >= this.reserved) {
      this.reserved = this.next + this.block;
      this.platform.writeJSON(SEQ_FILE, { reserved: this.reserved });
    }
    return this.next++;
  }
}
