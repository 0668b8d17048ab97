// The YAML + zod loader (errors naming file, line and fix) is shared by every room: it lives in @envmon/protocol.
export { ConfigError, parseYamlWith } from '@envmon/protocol';
