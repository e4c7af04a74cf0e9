export { startAkashSim, type AkashSim, type SimProvider, type StartAkashSimOptions } from "./sim.ts";
export {
  akashSimSeedSchema, parseSeed, walletSeedSchema, providerSeedSchema, deploymentSeedSchema, leaseSeedSchema,
  serviceSeedSchema, certificateSeedSchema, fastResponderSchema, deploymentStates, leaseStates, certificateStates,
  type AkashSimSeed, type ParsedAkashSimSeed, type WalletSeed, type ProviderSeed, type DeploymentSeed, type LeaseSeed,
  type ServiceSeed, type CertificateSeed, type FastResponder, type DeploymentStateName, type LeaseStateName,
  type CertificateStateName,
} from "./seed.ts";
export type { ChainState, LeaseRef, LeaseId, LeaseRecord, ServiceRecord } from "./state.ts";
export type { ChainFaults } from "./chain/chain-rest.ts";
export type { Fault, FaultTarget } from "./provider/faults.ts";
export type { ReplicaRef, EntrypointState } from "./exec/replicas.ts";
export type { ShellStats } from "./provider/lease-shell.ts";
export { ShellMessages } from "./provider/lease-shell.ts";
