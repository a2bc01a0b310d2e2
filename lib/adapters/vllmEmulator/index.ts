/** A vLLM metrics emulator: /metrics of replicas at a known load or driven by the fleet simulator. */
export { VllmEmulatorServer, type SampleSource } from './emulatorServer.js';
export { FixedLoadVariant, type FixedLoad, type FixedLoadVariantOptions } from './fixedLoad.js';
export { gatewaySource, type GatewayLoadOptions } from './gatewayLoad.js';
export { simSource, type SimSourceOptions } from './simSource.js';
export { applyNaming, EMULATED_NAMINGS, type EmulatedNaming } from './namings.js';
export { exposition, samplesRegistry } from './promClientText.js';
