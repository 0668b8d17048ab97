/**
 * MQTT topic layout: one subtree per station, `envmon/v1/<station>/<kind>`.
 * A station id is restricted to characters that are safe in topics, file names and URLs.
 */
export const TOPIC_ROOT = 'envmon/v1';
export const TOPIC_KINDS = ['data', 'status', 'cmd', 'cmd/result'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

const STATION_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidStationId(id: string): boolean {
  return STATION_ID.test(id);
}

export function topicFor(station: string, kind: TopicKind): string {
  if (!isValidStationId(station)) {
    throw new Error(`invalid station id ${JSON.stringify(station)}: use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit`);
  }
  return `${TOPIC_ROOT}/${station}/${kind}`;
}

/** Splits a topic into station and kind, or returns undefined when it is not an envmon topic. */
export function parseTopic(topic: string): { station: string; kind: TopicKind } | undefined {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const station = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (!isValidStationId(station) || !(TOPIC_KINDS as readonly string[]).includes(kind)) return undefined;
  return { station, kind: kind as TopicKind };
}

/** The subtree a station's credential may publish in, as an MQTT filter. */
export function stationSubtree(station: string): string {
  return `${TOPIC_ROOT}/${station}/#`;
}
