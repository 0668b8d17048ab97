// envmon alarm: alarm transitions from the ingest's alarm engine (raised, re-raised, acknowledged, cleared,
// closed, comment, calibration-started, calibration-ended), filtered by station and action.
'use strict';
const { bridgeOf, list, registerAdminRoutes } = require('./common.js');

/** One line a person can read in a chat: "[major] S1 PM2_5 raised — 1 h mean 80 > 50 (QCVN 05:2023)". */
function describe(e) {
  const a = e.alarm;
  if (a) return `[${a.severity}] ${e.station} ${a.param === '*' ? '' : `${a.param} `}${e.action} — ${a.detail}`;
  if (e.calibration) return `${e.station} ${e.calibration.param} ${e.action}`;
  return `${e.station} ${e.action}`;
}

module.exports = function (RED) {
  registerAdminRoutes(RED);

  function EnvmonAlarmNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const stations = list(config.stations);
    const actions = list(config.actions);
    let unsubscribe;
    try {
      unsubscribe = bridgeOf(RED).onAlarms({ stations, actions }, (e) => {
        const payload = JSON.parse(JSON.stringify(e));
        delete payload.type;
        node.send({ topic: `${e.station}/${e.action}`, station: e.station, action: e.action, text: describe(e), payload });
        node.status({ fill: e.action === 'raised' || e.action === 're-raised' ? 'red' : 'green', shape: 'dot', text: `${e.station} ${e.action}` });
      });
      node.status({});
    } catch (err) {
      node.error(err.message);
      node.status({ fill: 'red', shape: 'ring', text: 'not in envmon' });
    }
    node.on('close', () => {
      if (unsubscribe) unsubscribe();
    });
  }
  RED.nodes.registerType('envmon alarm', EnvmonAlarmNode);
};
