// envmon write: readings from a flow into the ingest's pipeline, with the same validation, quarantine and QC as
// MQTT data. msg.payload: a reading {station, param, time, value, status?, qc_flags?, period_s?}, an array of them,
// or {station, readings: [...]}; the node's station applies to readings without one.
'use strict';
const { bridgeOf, registerAdminRoutes } = require('./common.js');

module.exports = function (RED) {
  registerAdminRoutes(RED);

  function EnvmonWriteNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const station = (config.station || '').trim();
    const source = `${(config.name || '').trim() || 'write'}#${node.id}`;
    let accepted = 0;
    let rejected = 0;
    node.on('input', async (msg, send, done) => {
      try {
        const out = await bridgeOf(RED).write(msg.payload, { station: station || (typeof msg.station === 'string' ? msg.station : undefined), source });
        accepted += out.accepted.length;
        rejected += out.rejected.length;
        msg.accepted = out.accepted;
        msg.rejected = out.rejected;
        msg.payload = { accepted: out.accepted.length, rejected: out.rejected };
        node.status({ fill: rejected > 0 ? 'yellow' : 'green', shape: 'dot', text: `${accepted} stored, ${rejected} rejected` });
        send(msg);
        if (out.rejected.length > 0) {
          const first = out.rejected[0];
          const what = `${out.rejected.length} of ${out.accepted.length + out.rejected.length} readings rejected`;
          // A Catch node sees this; the readings are also in the ingest's quarantine (/api/v1/rejects).
          done(new Error(`${what}: ${first.reason} — ${first.detail}`));
        } else {
          done();
        }
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) });
        done(err);
      }
    });
  }
  RED.nodes.registerType('envmon write', EnvmonWriteNode);
};
