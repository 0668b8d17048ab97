import { startApp } from './app.ts';
import { DEFAULT_CONFIG, mergeConfig } from './config.ts';
import { espruinoPlatform } from './platform/espruino.ts';

/**
 * Entry point of the bundle on the board, run at boot when the bundle is stored as `.bootcde` (see README).
 * Configuration: DEFAULT_CONFIG, overridden by `envmon.json` in Storage
 * (write it once from the IDE: require("Storage").writeJSON("envmon.json", {...})).
 */
function boot(): void {
  const p = espruinoPlatform();
  const cfg = mergeConfig(DEFAULT_CONFIG, p.readJSON('envmon.json'));
  p.log('envmon node ' + cfg.station + ' mode ' + cfg.mode);
  startApp(p, cfg);
}

boot();
