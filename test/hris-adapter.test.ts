import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { profileFromBambooHr } from '../activities/hris';

// The BambooHR adapter's reading of a record: vendor quirks in, one HrProfile out.

const record = (overrides: Record<string, unknown> = {}) => ({
  id: 'E1001',
  firstName: 'Ana',
  lastName: 'Reyes',
  workEmail: 'ana.reyes@example.com',
  jobTitle: 'Chemical Process Operator I',
  department: 'Operations',
  location: 'BAY',
  supervisorEId: null,
  employmentHistoryStatus: 'Full-Time',
  hireDate: '2026-12-01',
  terminationDate: '0000-00-00',
  status: 'Active',
  customJobCode: 'CHM-OP1',
  customContractEnd: '0000-00-00',
  ...overrides,
});

describe('profileFromBambooHr', () => {
  it('reads plain and { value } fields, and "0000-00-00" as no date', () => {
    const profile = profileFromBambooHr(record({ jobTitle: { value: 'Chemical Process Operator I' } }));
    expect(profile).toMatchObject({ id: 'E1001', email: 'ana.reyes@example.com', site: 'BAY', jobTitle: 'Chemical Process Operator I', employmentType: 'employee', terminationDate: null, contract: undefined });
  });

  it.each([
    ['Full-Time', 'employee'],
    ['Part-Time', 'employee'],
    ['Contractor', 'contractor'],
    ['Temporary', 'temporary'],
    ['Seasonal', 'temporary'],
  ])('employment status %s is %s', (status, type) => {
    expect(profileFromBambooHr(record({ employmentHistoryStatus: status })).employmentType).toBe(type);
  });

  it('an employment status it does not know is refused with the raw value, not guessed', () => {
    const err = (() => {
      try {
        profileFromBambooHr(record({ employmentHistoryStatus: 'Apprentice' }));
      } catch (e) {
        return e as ApplicationFailure;
      }
    })();
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err!.type).toBe('UnmappedHrisValue');
    expect(err!.nonRetryable).toBe(true);
    expect(err!.details).toEqual([{ field: 'employmentHistoryStatus', value: 'Apprentice' }]);
  });

  it('a missing required field is named', () => {
    expect(() => profileFromBambooHr(record({ customJobCode: null }))).toThrow(/has no customJobCode/);
  });

  it.each<[string, Record<string, unknown>, string | null]>([
    ['a rehire: Active again, hired after the old termination', { status: 'Active', hireDate: '2026-12-01', terminationDate: '2025-06-30' }, null],
    ['a termination before the start, already in effect (Inactive)', { status: 'Inactive', hireDate: '2026-12-01', terminationDate: '2026-11-20' }, '2026-11-20'],
    ['a future termination of someone employed now', { status: 'Active', hireDate: '2024-01-08', terminationDate: '2026-12-31' }, '2026-12-31'],
    ['a past termination, Inactive', { status: 'Inactive', hireDate: '2024-01-08', terminationDate: '2026-10-31' }, '2026-10-31'],
  ])('%s', (_name, overrides, terminationDate) => {
    expect(profileFromBambooHr(record(overrides)).terminationDate).toBe(terminationDate);
  });

  it('a contractor carries the contract, covered tasks split on ; or ,', () => {
    const profile = profileFromBambooHr(
      record({ employmentHistoryStatus: 'Contractor', customContractAgency: 'Bayou Staffing', customContractStart: '2026-12-01', customContractEnd: '2027-03-31', customCoveredTasks: 'OQ 0401; OQ 0402,pump overhaul', customSponsorEId: 'E1002' }),
    );
    expect(profile.contract).toEqual({ agency: 'Bayou Staffing', startDate: '2026-12-01', endDate: '2027-03-31', coveredTasks: ['OQ 0401', 'OQ 0402', 'pump overhaul'], sponsorId: 'E1002' });
  });
});
