// Shared by the envmon nodes: the bridge to the running ingest (src/node-red/bridge.ts), set by the embedding as
// settings.envmon before Node-RED starts.
'use strict';

/** The ingest's bridge, or an error that says where these nodes work. */
function bridgeOf(RED) {
  const b = RED.settings.envmon;
  if (!b) throw new Error('envmon nodes work only in Node-RED embedded in the envmon ingest (settings.envmon is missing)');
  return b;
}

/** "S1, S2" or ["S1","S2"] -> ["S1","S2"]. */
function list(v) {
  if (Array.isArray(v)) return v.map(String).map((s) => s.trim()).filter(Boolean);
  if (typeof v !== 'string') return [];
  return v.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

let adminRoutes = false;
/** GET <admin root>/envmon/stations and /envmon/params for the editor's suggestions (admin only, like the editor). */
function registerAdminRoutes(RED) {
  if (adminRoutes) return;
  adminRoutes = true;
  RED.httpAdmin.get('/envmon/stations', RED.auth.needsPermission('envmon.read'), (req, res) => {
    const b = RED.settings.envmon;
    res.json(b ? b.stations() : []);
  });
  RED.httpAdmin.get('/envmon/params', RED.auth.needsPermission('envmon.read'), (req, res) => {
    const b = RED.settings.envmon;
    res.json(b ? b.params() : []);
  });
}

module.exports = { bridgeOf, list, registerAdminRoutes };
