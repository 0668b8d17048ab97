// The YAML + zod loader lives in @envmon/protocol, shared by every room that reads a config or data file.
export { ConfigError, formatIssue, loadYamlWith, parseYamlWith, type ConfigIssue } from '@envmon/protocol';
