export { employeeLifecycle } from './employee';
export { onboarding } from './onboarding';
