export * from './autoScalingGroups.js';
export * from './managedNodeGroupsProvider.js';
export * from './packing.js';
