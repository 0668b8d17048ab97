export * from './registers.ts';
export {
  BIT_ROLES,
  GENERIC_SOURCE,
  profileParams,
  type BitFunction,
  type BitRole,
  type DeviceProfile,
  type ProfileBit,
  type FunctionCode,
  type ProfileRegister,
  type SimSpec,
  type StatusRegister,
} from './profile/schema.ts';
export { PROFILES_DIR, listProfiles, loadProfile, parseProfile, resolveProfilePath } from './profile/load.ts';
export { ConfigError, formatIssue, loadYamlWith, parseYamlWith, type ConfigIssue } from './yaml-config.ts';
export { LOCAL_UTC_OFFSET_H, simulatedValue } from './simulator/signal.ts';
export { type ValueOverride } from './simulator/register-image.ts';
export {
  startModbusTcpSimulator,
  type ModbusTcpSimulator,
  type ModbusTcpSimulatorOptions,
} from './simulator/modbus-tcp.ts';
export { createSimulatedDevice, ILLEGAL_DATA_ADDRESS, type SimulatedDevice } from './simulator/device.ts';
export {
  startModbusRtuSimulator,
  type ModbusRtuSimulator,
  type ModbusRtuSimulatorOptions,
  type RtuSlave,
  type RtuSlaveOptions,
} from './simulator/modbus-rtu.ts';
export { openPtyPair, startTcpSerialBridge, type PtyPair, type TcpSerialBridge } from './simulator/pty.ts';
export { startLineSensor, startPmsSimulator, type LineSensor, type PmsSimulator, type PmsValues } from './simulator/serial-sensors.ts';
