import type { HrProfile } from '../../domain/hr-event';

// A fixed "today" and a person to vary, for the table-driven tests of the pure functions.

export const TODAY = '2026-11-22';
export const START = '2026-12-01';

/** Ana Reyes, a chemical process operator starting at Baytown, with whatever the case changes. */
export function profile(overrides: Partial<HrProfile> = {}): HrProfile {
  return {
    id: 'E1001',
    firstName: 'Ana',
    lastName: 'Reyes',
    email: 'ana.reyes@example.com',
    jobCode: 'CHM-OP1',
    jobTitle: 'Chemical Process Operator I',
    department: 'OPS',
    site: 'BAY',
    managerId: null,
    employmentType: 'employee',
    startDate: START,
    terminationDate: null,
    ...overrides,
  };
}
