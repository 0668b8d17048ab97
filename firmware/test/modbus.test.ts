import Modbus from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProfile } from '@envmon/hardware';
import { planReads, readingsFromBlocks, type BlockResult } from '@envmon/gateway';
import { startApp, type App } from '../src/app.ts';
import { answerRequest, rtuGapMs, RtuSlave } from '../src/modbus/rtu-slave.ts';
import { RegisterMap, STATUS_BIT_ABSENT, STATUS_BIT_FAULT, STATUS_BIT_HUMID } from '../src/modbus/register-map.ts';
import { SerialPortUart } from '../src/platform/sim/serial-port.ts';
import { simRig, type SimRig } from '../src/platform/sim/rig.ts';
import { hexBytes } from '../src/util/bytes.ts';
import { ptyPair } from './support/pty.ts';

describe('RTU slave: frames per the Modbus specifications', () => {
  // Modbus Application Protocol V1.1b3 §6.4 example: read input register 9 (address 8) → value 0x000A.
  const read = (fn: number, start: number, count: number): number[] | undefined => (fn === 4 && start === 8 && count === 1 ? [0x000a] : undefined);
  const withCrc = (hex: string): number[] => {
    const b = hexBytes(hex);
    let crc = 0xffff;
    for (const x of b) {
      crc ^= x;
      for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    }
    return [...b, crc & 0xff, crc >> 8];
  };
  it('answers function 04 as in the specification example', () => {
    expect(answerRequest(withCrc('11 04 00 08 00 01'), 0x11, read)).toEqual(withCrc('11 04 02 00 0a'));
  });
  it('uses the serial-line example CRC (01 03 00 00 00 0A → C5 CD) and answers exceptions', () => {
    expect(answerRequest(hexBytes('01 03 00 00 00 0a c5 cd'), 1, () => undefined)).toEqual(withCrc('01 83 02')); // illegal address
    expect(answerRequest(withCrc('01 06 00 01 00 03'), 1, read)).toEqual(withCrc('01 86 01')); // illegal function
    expect(answerRequest(withCrc('01 04 00 00 00 7e'), 1, read)).toEqual(withCrc('01 84 03')); // 126 registers
  });
  it('stays silent on a bad CRC, another unit and broadcasts', () => {
    expect(answerRequest(hexBytes('01 03 00 00 00 0a c5 ce'), 1, read)).toBeUndefined();
    expect(answerRequest(withCrc('12 04 00 08 00 01'), 0x11, read)).toBeUndefined();
    expect(answerRequest(withCrc('00 04 00 08 00 01'), 0x11, read)).toBeUndefined();
  });
  it('frames by silence when bytes arrive in pieces, and resynchronises after noise', () => {
    const sent: number[][] = [];
    const timers: (() => void)[] = [];
    const s = new RtuSlave(0x11, read, (b) => sent.push(b), (fn) => timers.push(fn), () => timers.pop(), rtuGapMs(9600));
    s.push([0xff, 0x00]); // line noise, then silence
    timers.pop()!();
    const req = withCrc('11 04 00 08 00 01');
    s.push(req.slice(0, 3));
    s.push(req.slice(3)); // 8 bytes with a good CRC: answered at once
    expect(sent).toEqual([withCrc('11 04 02 00 0a')]);
    expect(rtuGapMs(9600)).toBe(5); // 3.5 × 11 bits at 9600 baud = 4.01 ms
    expect(rtuGapMs(115200)).toBe(2); // fixed 1.75 ms above 19200 baud
  });
  it('register map: float32 ABCD, status bits, exception for unmapped addresses', () => {
    const m = new RegisterMap([true, true, true, true, false, false]);
    m.update({ slot: 0, param: 'PM2_5', time: 0, periodS: 60, value: 37.5, status: 0, qc: 32, reason: '' });
    m.update({ slot: 2, param: 'TEMP', time: 0, periodS: 60, value: -12.25, status: 2, qc: 0, reason: 'x' });
    expect(m.read(4, 0, 2)).toEqual([0x4216, 0x0000]); // 37.5 = 0x42160000
    expect(m.read(4, 4, 2)).toEqual([0xc144, 0x0000]); // -12.25 = 0xC1440000
    expect(m.read(4, 8, 2)).toEqual([0x7fc0, 0x0000]); // NaN: not fitted
    expect(m.read(4, 100, 6)).toEqual([STATUS_BIT_HUMID, 0, STATUS_BIT_FAULT, 0, STATUS_BIT_ABSENT, STATUS_BIT_ABSENT]);
    expect(m.read(4, 12, 1)).toBeUndefined();
    expect(m.read(3, 0, 2)).toBeUndefined();
  });
});

// The register level, seen by a plain Modbus master: the gateway's own end-to-end poll is gateway-rtu.test.ts,
// but only a raw master sees the humidity bit, the diagnostics, exceptions and the silence for another unit.
describe('the node as a Modbus RTU slave on a pseudo-terminal, polled by a real Modbus master', () => {
  let rig: SimRig | undefined;
  let app: App | undefined;
  let uart: SerialPortUart | undefined;
  let client: InstanceType<typeof Modbus.default> | undefined;
  let pty: Awaited<ReturnType<typeof ptyPair>> | undefined;
  afterEach(async () => {
    app?.stop();
    rig?.p.shutdown();
    if (client?.isOpen) await new Promise<void>((r) => client!.close(() => r()));
    await uart?.close();
    await pty?.stop();
  });

  it('serves the window means; the gateway\'s read plan and envmon-node profile decode them', async () => {
    pty = await ptyPair();
    rig = simRig('real', { samplePeriodMs: 100, reportPeriodMs: 500, modbus: { uart: 'Serial1', baud: 19200, unitId: 7 } });
    uart = new SerialPortUart(pty.a);
    rig.p.uarts['Serial1'] = uart;
    rig.sht.t = 31.5;
    rig.sht.rh = 82; // humid: PM gets the humidity bit
    rig.ds.t = 24.0625;
    rig.pms.pm25 = 41;
    rig.pms.pm10 = 63;
    rig.p.oneWires['D4']!.devices.length = 0; // DS18B20 unplugged → WTEMP null, status 02
    app = startApp(rig.p, rig.cfg);

    client = new Modbus.default();
    await client.connectRTUBuffered(pty.b, { baudRate: 19200 });
    client.setID(7);
    client.setTimeout(1000);
    const deadline = Date.now() + 8000;
    while (app.node.stats.windows < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(app.node.stats.windows).toBeGreaterThanOrEqual(2);

    const profile = loadProfile('envmon-node');
    const blocks = planReads(profile);
    const results: BlockResult[] = [];
    for (const b of blocks) {
      const res = b.fn === 4 ? await client.readInputRegisters(b.start, b.count) : await client.readHoldingRegisters(b.start, b.count);
      results.push({ ok: true, words: res.data });
    }
    const readings = readingsFromBlocks(profile, blocks, results, 1_795_000_000_000);
    const by = Object.fromEntries(readings.map((r) => [r.param, r]));
    expect(by.TEMP!.value).toBeCloseTo(31.5, 1);
    expect(by.TEMP!.status).toBe(0);
    expect(by.RH!.value).toBeCloseTo(82, 1);
    expect(by.PM2_5).toMatchObject({ value: 41, status: 0 });
    expect(by.PM10).toMatchObject({ value: 63, status: 0 });
    expect(by.WTEMP).toMatchObject({ value: null, status: 2 });
    expect(by.PH!.value).toBeGreaterThan(8);
    expect(by.PH!.value).toBeLessThan(10);

    // The humidity flag and diagnostics are on the wire too, and an unmapped address is exception 02.
    const st = await client.readInputRegisters(100, 6);
    expect(st.data[0]! & STATUS_BIT_HUMID).toBe(STATUS_BIT_HUMID);
    expect(st.data[4]! & STATUS_BIT_FAULT).toBe(STATUS_BIT_FAULT);
    const diag = await client.readInputRegisters(120, 5);
    expect(diag.data[4]).toBe(0x0100);
    expect(diag.data[2]).toBeGreaterThanOrEqual(2);
    await expect(client.readInputRegisters(12, 2)).rejects.toMatchObject({ modbusCode: 2 });
    // Another unit on the same bus: the node stays silent, the master times out.
    client.setID(8);
    client.setTimeout(300);
    await expect(client.readInputRegisters(0, 2)).rejects.toThrow(/Timed out/);
    expect(app.slave!.requests).toBeGreaterThanOrEqual(blocks.length + 3);
  });
});
