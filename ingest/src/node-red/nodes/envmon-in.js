// envmon in: accepted readings from the ingest's live hub (after validation, QC and the WAL), filtered by station
// and parameter. One message per reading, or one per batch.
'use strict';
const { bridgeOf, list, registerAdminRoutes } = require('./common.js');

module.exports = function (RED) {
  registerAdminRoutes(RED);

  function EnvmonInNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const stations = list(config.stations);
    const params = list(config.params);
    const perBatch = config.output === 'batch';
    let count = 0;
    let unsubscribe;
    try {
      unsubscribe = bridgeOf(RED).onReadings({ stations, params, validOnly: !!config.validOnly }, (station, readings) => {
        // Called inside the ingest's publish: node.send only queues (Node-RED delivers asynchronously).
        if (perBatch) {
          node.send({ topic: station, station, payload: readings.map((r) => Object.assign({}, r)) });
        } else {
          for (const r of readings) node.send({ topic: `${station}/${r.param}`, station, param: r.param, payload: Object.assign({}, r) });
        }
        count += readings.length;
        node.status({ fill: 'green', shape: 'dot', text: `${count} readings, last ${new Date().toLocaleTimeString()}` });
      });
      node.status({ fill: 'grey', shape: 'ring', text: `${stations.join(',') || 'all stations'} · ${params.join(',') || 'all params'}` });
    } catch (err) {
      node.error(err.message);
      node.status({ fill: 'red', shape: 'ring', text: 'not in envmon' });
    }
    node.on('close', () => {
      if (unsubscribe) unsubscribe();
    });
  }
  RED.nodes.registerType('envmon in', EnvmonInNode);
};
