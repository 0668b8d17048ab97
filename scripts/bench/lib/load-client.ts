/**
 * A load generator for the ingest benchmark, run as its own process (so it does not share an event loop with the
 * broker it measures): one MQTT connection that publishes `batches` QoS 1 messages, each a Batch of `readings`
 * readings, keeping `window` messages in flight, and prints one JSON line with what it sent and how long it took.
 *
 *   tsx scripts/bench/lib/load-client.ts <url> <station> <secret> <batches> <readings> <window> [mode] [rate]
 *
 * mode `data` (default): Batches on envmon/v1/<station>/data. `raw`: opaque 100-byte payloads on `<topic>`
 * (for broker rates without the pipeline). `rate`: messages per second to pace at (0 = as fast as acknowledged).
 * Every payload is encoded before the clock starts.
 */
import mqtt from 'mqtt';
import { encodeBatch, type Reading } from '@envmon/protocol';

const [url, station, secret, batchesArg, readingsArg, windowArg, mode, rateArg] = process.argv.slice(2);
const batches = Number(batchesArg);
const perBatch = Number(readingsArg);
const window = Number(windowArg);
const raw = mode !== undefined && mode !== 'data';
const rate = Number(rateArg ?? 0);

const client = await mqtt.connectAsync(url!, { username: station, password: secret, protocolVersion: 4, reconnectPeriod: 0 });
const topic = raw ? mode! : `envmon/v1/${station}/data`;
const t0 = Date.now() - batches * perBatch * 10; // readings spaced 10 ms apart, all in the past
const rawPayload = Buffer.alloc(100, 0x61);

function payload(i: number): Buffer {
  if (raw) return rawPayload;
  const readings: Reading[] = [];
  for (let k = 0; k < perBatch; k++) {
    // Values with a decimal, like real ones (and like the raw InfluxDB baseline's points).
    readings.push({ param: 'PM2_5', time: t0 + (i * perBatch + k) * 10, value: 10.5 + ((i + k) % 90), status: 0, qc_flags: 0, period_s: 0 });
  }
  return Buffer.from(encodeBatch({ station: station!, seq: i + 1, sent_at: Date.now(), readings }));
}

// Encoded before the clock starts, once per batch: a gateway encodes a batch once per poll on its own machine,
// so encoding here would only take CPU from the ingest under test on the shared cores.
const payloads = Array.from({ length: batches }, (_, i) => payload(i));

const started = performance.now();
let next = 0;
let acked = 0;
await new Promise<void>((resolve, reject) => {
  const send = () => {
    while (next < batches && next - acked < window) {
      // Paced mode: do not run ahead of the schedule; a timer resumes sending.
      if (rate > 0 && next >= ((performance.now() - started) / 1000) * rate) {
        setTimeout(send, 2);
        return;
      }
      const i = next++;
      client.publish(topic, payloads[i]!, { qos: 1 }, (err) => {
        if (err) return reject(err);
        acked++;
        if (acked === batches) resolve();
        else send();
      });
    }
  };
  send();
});
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ station, messages: batches, readings: raw ? 0 : batches * perBatch, seconds }));
await client.endAsync();
