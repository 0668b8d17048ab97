// envmon query: series (raw points or buckets with mean/min/max/last/count) and hourly/daily aggregates with
// coverage from the ingest's store. Empty node fields are taken from msg (msg.station, msg.param, msg.from, msg.to,
// msg.last, msg.every, msg.agg, msg.mode).
'use strict';
const { bridgeOf, registerAdminRoutes } = require('./common.js');

const FIELDS = ['mode', 'station', 'param', 'last', 'every', 'agg'];

module.exports = function (RED) {
  registerAdminRoutes(RED);

  function EnvmonQueryNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.on('input', async (msg, send, done) => {
      const q = {};
      for (const f of FIELDS) {
        const own = typeof config[f] === 'string' ? config[f].trim() : '';
        q[f] = own !== '' ? own : msg[f];
      }
      q.from = msg.from;
      q.to = msg.to;
      try {
        const result = await bridgeOf(RED).query(q);
        msg.payload = result;
        const n = result.mode === 'series' ? `${result.points.length} points` : `${result.series.length} params`;
        node.status({ fill: 'green', shape: 'dot', text: `${q.station} · ${n}` });
        send(msg);
        done();
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) });
        done(err);
      }
    });
  }
  RED.nodes.registerType('envmon query', EnvmonQueryNode);
};
