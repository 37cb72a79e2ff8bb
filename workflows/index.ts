export { employeeLifecycle } from './employee';
export { onboarding } from './onboarding';
export { roleChange } from './role-change';
export { transfer } from './transfer';
export { offboarding } from './offboarding';
export { contractorExpiry } from './contractor-expiry';
export { accessGrant } from './access-grant';
export { identityLifecycle } from './identity';
export { reconciliation, reconcileEmployee } from './reconciliation';
