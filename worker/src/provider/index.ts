export { LeaseShellClient, type LeaseShellClientDeps } from "./lease-shell-client.ts";
export { buildLeaseShellUrl, parseHostUri, InvalidLeaseShellRequestError, type LeaseShellUrlInput } from "./lease-shell-url.ts";
export { OutputCollector, collectedOutput, emptyOutput } from "./output-collector.ts";
export {
  providerTlsOptions,
  assessPeerCertificate,
  peerCertificateFacts,
  type PeerCertificateFacts,
  isPinned,
  certificatesInPem,
  ProviderTlsUntrustedError,
  isProviderTlsUntrusted,
  type PeerCertificateVerdict,
} from "./provider-tls.ts";
export { openProviderSocket, ProviderSocketError, type ProviderSocketFailure, type ProviderSocketOptions } from "./provider-connection.ts";
export {
  classifyFailure,
  classifyUpgradeStatus,
  classifyResultMessage,
  providerBodyMessage,
  type ExchangeFailure,
  type ClassifiedFailure,
} from "./classify-failure.ts";
export {
  getLeaseStatus,
  interpretStatusResponse,
  leaseStatusSchema,
  serviceStatusSchema,
  type LeaseStatus,
  type ServiceStatus,
  type LeaseStatusQuery,
  type LeaseStatusResult,
  type LeaseStatusFailureCode,
} from "./lease-status-client.ts";
export { LeaseStatusCache, checkLeaseReadiness, type LeaseStatusCacheOptions, type LeaseStatusKey, type LeaseCheckInput } from "./lease-status-cache.ts";
export { checkServiceReady, type ServiceReadiness } from "./service-readiness.ts";
