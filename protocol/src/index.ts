export * from './types.ts';
export * from './status.ts';
export * from './topics.ts';
export * from './codec.ts';
export * from './catalogue.ts';
export * from './yaml-config.ts';
