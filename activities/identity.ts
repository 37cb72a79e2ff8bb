import type pg from 'pg';
import type { HrEvent, HrProfile } from '../domain/hr-event';
import type { Hris } from './hris';
import { submitHrEvent, type IntakeDeps, type Submission } from './intake';

// Identity-provider events need the employee behind a login: the profiles hrsync has already
// seen, then the HRIS directory. The resulting canonical event goes through the same intake as
// every other source.

export function identityActivities(hris: Hris, pool: pg.Pool, intake: IntakeDeps) {
  return {
    async resolveEmployeeByLogin(login: string): Promise<HrProfile | null> {
      const seen = await pool.query(`SELECT employee_id FROM hr_snapshots WHERE lower(profile->>'email') = lower($1) ORDER BY updated_at DESC LIMIT 1`, [login]);
      const employeeId = (seen.rows[0]?.employee_id as string | undefined) ?? (await hris.findEmployeeIdByEmail(login));
      if (!employeeId) return null;
      const profile = await hris.getProfile(employeeId);
      if (profile) return profile;
      const snapshot = await pool.query(`SELECT profile FROM hr_snapshots WHERE employee_id = $1 ORDER BY updated_at DESC LIMIT 1`, [employeeId]);
      return (snapshot.rows[0]?.profile as HrProfile | undefined) ?? null;
    },
    async submitHrEvent(input: { event: HrEvent; raw: string }): Promise<Submission> {
      return submitHrEvent(intake, input.event, input.raw);
    },
  };
}
