import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadYamlWith, parseYamlWith } from '../yaml-config.ts';
import { ProfileFileSchema, toDeviceProfile, type DeviceProfile } from './schema.ts';

/** The folder of profiles shipped with @envmon/hardware. */
export const PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

/** Validates profile YAML text; `fileName` is only used in error messages. Throws ConfigError. */
export function parseProfile(text: string, fileName: string): DeviceProfile {
  return toDeviceProfile(parseYamlWith(ProfileFileSchema, text, fileName), fileName);
}

/**
 * Loads a profile by name (`generic-ambient-air` → profiles/generic-ambient-air.yaml) or by path (anything
 * with a slash or a .yaml/.yml ending; relative paths resolve against `cwd`). A shipped profile's `id` must
 * equal its file name, so the name a user types and the id in data always agree.
 */
export function loadProfile(nameOrPath: string, cwd: string = process.cwd()): DeviceProfile {
  const file = resolveProfilePath(nameOrPath, cwd);
  const profile = toDeviceProfile(loadYamlWith(ProfileFileSchema, file), file);
  const stem = basename(file, extname(file));
  if (file.startsWith(PROFILES_DIR) && profile.id !== stem) {
    throw new ConfigError(file, [
      { file, line: 1, path: 'id', message: `id "${profile.id}" differs from the file name; rename the file to ${profile.id}.yaml or set id: ${stem}` },
    ]);
  }
  return profile;
}

export function resolveProfilePath(nameOrPath: string, cwd: string = process.cwd()): string {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.includes('\\') || /\.ya?ml$/i.test(nameOrPath);
  if (looksLikePath) return isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath);
  const file = resolve(PROFILES_DIR, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    const known = listProfiles();
    throw new Error(`no profile named "${nameOrPath}" in ${PROFILES_DIR}; use one of ${known.join(', ') || '(none)'}, or a path to a .yaml file`);
  }
  return file;
}

/** Names of the shipped profiles (file names without .yaml), sorted. */
export function listProfiles(): string[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}
