import { describe, expect, it } from 'vitest';
import { certificationStanding, completionKey, jobChangeProposal, monthsAfter, recertificationSchedule, trainingEvidence } from '../domain/learning';
import { loadOrganisation } from '../domain/load-organisation';

const org = loadOrganisation();

describe('learning: the pure parts', () => {
  it('one completion has one key, whatever the spelling of its instant', () => {
    expect(completionKey({ employeeId: 'E1', courseId: 'PSM-201', completedAt: '2026-11-20T10:00:00+01:00' })).toBe(completionKey({ employeeId: 'E1', courseId: 'PSM-201', completedAt: '2026-11-20T09:00:00.000Z' }));
  });

  it('a training record holds the regulation, the expiry of a recertified course and the retention', () => {
    const psm = trainingEvidence({ employeeId: 'E1', courseId: 'PSM-201', completedAt: '2026-01-31T12:00:00Z', score: 88 }, org);
    expect(psm).toMatchObject({ managed: true, regulation: expect.stringMatching(/1910\.119/), recertifyMonths: 36, expiresAt: '2029-01-31T12:00:00.000Z' });
    const unknown = trainingEvidence({ employeeId: 'E1', courseId: 'EXTERNAL-9', completedAt: '2026-01-31T12:00:00Z', score: null }, org);
    expect(unknown).toMatchObject({ managed: false, courseTitle: null, expiresAt: null, retentionYears: org.defaultRetentionYears });
  });

  it('months are calendar months (a month-end completion lands on the next month-end or the 1st after)', () => {
    expect(monthsAfter('2026-03-15T08:00:00Z', 12)).toBe('2027-03-15T08:00:00.000Z');
    expect(monthsAfter('2027-03-15T08:00:00Z', -12)).toBe('2026-03-15T08:00:00.000Z');
  });

  it('renewal: enrolled again 60 days ahead, reminded 30 days ahead, due on the expiry date (sample organisation)', () => {
    expect(recertificationSchedule('2027-06-30T12:00:00Z', org)).toEqual({
      expiresAt: '2027-06-30T12:00:00.000Z',
      reenrollAt: '2027-05-01T12:00:00.000Z',
      remindAt: '2027-05-31T12:00:00.000Z',
      dueDate: '2027-06-30',
    });
  });

  it.each<[string, string, { skillId: string; proficiency: 'foundational' | 'proficient' | 'advanced' }[], string | null]>([
    ['an Operator I advanced in process safety: Operator II', 'CHM-OP1', [{ skillId: 'process-safety', proficiency: 'advanced' }], 'CHM-OP2'],
    ['an Operator I only proficient in it: nothing yet', 'CHM-OP1', [{ skillId: 'process-safety', proficiency: 'proficient' }], null],
    ['an Operator II advanced in it: the rule is not for their job', 'CHM-OP2', [{ skillId: 'process-safety', proficiency: 'advanced' }], null],
    ['a Process Technician proficient in safety leadership: Process Supervisor', 'PRC-TEC', [{ skillId: 'safety-leadership', proficiency: 'proficient' }], 'PRC-SUP'],
    ['advanced counts as at least proficient', 'PRC-TEC', [{ skillId: 'safety-leadership', proficiency: 'advanced' }], 'PRC-SUP'],
  ])('job change: %s', (_name, jobCode, skills, to) => {
    const proposal = jobChangeProposal(jobCode, skills.map((s) => ({ ...s, evidence: ['X'] })), org);
    expect(proposal?.rule.to ?? null).toBe(to);
  });

  it('a certificate is overdue from the instant it expires; a course without renewal never is', () => {
    const record = { courseId: 'COC-100', completedAt: '2025-11-22T10:00:00Z', expiresAt: '2026-11-22T10:00:00Z' };
    expect(certificationStanding(record, '2026-11-22T09:59:59Z')).toBe('valid');
    expect(certificationStanding(record, '2026-11-22T10:00:00Z')).toBe('overdue');
    expect(certificationStanding({ ...record, expiresAt: null }, '2030-01-01T00:00:00Z')).toBe('no-expiry');
  });
});
