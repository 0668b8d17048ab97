export { deviceParams, loadGatewayConfig, parseGatewayConfig, resolveDataRoot, type DeviceConfig, type ModbusDeviceConfig, type GatewayConfig, type ParseOptions, type TcpTransport, type BusTransport } from './config.ts';
export { GATEWAY_VERSION, startGateway, type GatewayOptions, type Health, type RunningGateway } from './gateway.ts';
export { createModbusBus, busKey, ModbusExceptionError, ModbusTransportError, type ModbusBus } from './modbus/bus.ts';
export { encodePmsFrame, decodePmsFrame, PmsFrameParser } from './serial/pms-frame.ts';
export { openArchive, type ArchiveReader, type ArchivedReading } from './outbox/archive.ts';
export { OUTBOX_FILE, openOutbox, type Outbox, type OutboxBatch } from './outbox/outbox.ts';
export { planReads, readingsFromBlocks, MODBUS_MAX_READ, type BlockResult, type ReadBlock } from './modbus/read-plan.ts';
export { createDevicePoller, type DevicePoller, type DevicePollerOptions } from './modbus/device-poller.ts';
