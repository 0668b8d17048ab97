/** TT10/2021 device status of a reading. The numeric values are the two-digit codes in TT10 files. */
export const DeviceStatus = { MEASURING: 0, CALIBRATING: 1, DEVICE_ERROR: 2 } as const;
export type DeviceStatus = (typeof DeviceStatus)[keyof typeof DeviceStatus];

/** The two-digit code written in TT10 files: 00, 01, 02. */
export function tt10StatusCode(status: DeviceStatus): string {
  return String(status).padStart(2, '0');
}

/** Quality-control flags, a bit set stored with every value. A flagged value is kept, never dropped. */
export const QcFlag = {
  RANGE: 1 << 0, // outside the station's plausible range (still inside the physical range)
  SPIKE: 1 << 1, // jump from the previous value larger than the parameter allows
  FLATLINE: 1 << 2, // the same value for longer than the parameter allows
  STALE: 1 << 3, // arrived later than the live window (backfill)
  REPLAYED: 1 << 4, // re-sent from a gateway outbox after an outage
  HUMIDITY: 1 << 5, // a particulate reading taken above 70 % RH (optical PM sensors read high in humid air)
} as const;
export type QcFlagName = Lowercase<keyof typeof QcFlag>;

export function qcFlagNames(flags: number): QcFlagName[] {
  return (Object.keys(QcFlag) as (keyof typeof QcFlag)[])
    .filter((k) => (flags & QcFlag[k]) !== 0)
    .map((k) => k.toLowerCase() as QcFlagName);
}
