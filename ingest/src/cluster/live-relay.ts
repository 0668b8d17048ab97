import type { MQEmitter } from 'mqemitter';
import type { Logger } from 'pino';
import { LiveHub, type LiveEvent } from '../live/hub.ts';

/**
 * The live stream across a cluster (issue 10): readings and station status accepted on any instance, and alarm
 * events from each station's alarm owner, reach SSE clients of every instance.
 *
 * Two hubs per instance. The *local* hub (what the pipeline and the broker publish to) feeds what must happen once
 * per accepted reading: Node-RED flows. The *cluster* hub (`ClusterLive.hub`) feeds what every browser should see —
 * `/stream` and the station registry — and the alarm engine, which evaluates only the stations whose lease this
 * instance holds (src/cluster/station-leases.ts). Everything published on the local hub is republished on the
 * cluster hub, and `readings`/`status`/`alarm` events also go out on the Redis message bus the brokers already
 * share (`$envmon/live`; Aedes never delivers `$` topics to `#` or `+` subscribers, and no MQTT client may publish
 * there); events from other instances come back from the bus into the cluster hub only. So nothing is written to
 * the WAL twice, and each reading and alarm reaches Node-RED once in the cluster.
 */
export const LIVE_TOPIC = '$envmon/live';

interface Envelope {
  from: string;
  event: LiveEvent;
}

export class ClusterLive {
  /** Every instance's readings and status, and this instance's own other events: for `/stream`. */
  readonly hub = new LiveHub();
  private mq: MQEmitter | undefined;
  private readonly unsubscribeLocal: () => void;
  private readonly onBus = (message: { topic: string; payload?: unknown }, done: () => void): void => {
    try {
      const env = JSON.parse(String(message.payload)) as Envelope;
      if (env.from !== this.instanceId && isRelayed(env.event)) this.hub.publish(env.event);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'undecodable live event from the cluster ignored');
    }
    done();
  };

  constructor(
    local: LiveHub,
    private readonly instanceId: string,
    private readonly log?: Logger,
  ) {
    this.unsubscribeLocal = local.subscribe((e) => {
      this.hub.publish(e);
      if (this.mq && isRelayed(e)) {
        this.mq.emit({ topic: LIVE_TOPIC, payload: JSON.stringify({ from: this.instanceId, event: e } satisfies Envelope) });
      }
    });
  }

  /** Starts relaying through the brokers' shared message bus (the Redis mqemitter). */
  attach(mq: MQEmitter): Promise<void> {
    this.mq = mq;
    return new Promise((resolve) => mq.on(LIVE_TOPIC, this.onBus, () => resolve()));
  }

  /** Stops relaying; call before the message bus closes. */
  async close(): Promise<void> {
    this.unsubscribeLocal();
    const mq = this.mq;
    this.mq = undefined;
    if (mq) await new Promise<void>((resolve) => mq.removeListener(LIVE_TOPIC, this.onBus, () => resolve()));
  }
}

function isRelayed(e: LiveEvent | undefined): e is LiveEvent {
  return !!e && (e.type === 'readings' || e.type === 'status' || e.type === 'alarm') && typeof e.station === 'string';
}
