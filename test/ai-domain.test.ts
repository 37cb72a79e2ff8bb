import { describe, expect, it } from 'vitest';
import { approvalReasons, catalogProblems, jobMappingMessages, mappingForJobCode, type JobMappingAnswer } from '../domain/ai';
import { mapByJobCodeTable, mapJobDeterministically } from '../domain/job-matching';
import { loadOrganisation } from '../domain/load-organisation';
import { Organisation } from '../domain/organisation';
import { redactMappingInput, redactText } from '../domain/redaction';
import { inferSkills, normaliseSkillDeterministically } from '../domain/skills';
import { tokens } from '../domain/text-similarity';

// The pure parts of the AI mapper: the PII guard, the deterministic mapper, the catalog checks
// and approval rules, and the skills taxonomy.

const org = loadOrganisation();
const person = { firstName: 'Priya', lastName: 'Natarajan', email: 'priya.natarajan@example.com', id: 'E4417' };

describe('redactText (the PII guard)', () => {
  it.each([
    ['the person\'s own names', 'Asst. to Priya Natarajan', 'Asst. to [name] [name]'],
    ['names in any case', 'cover for PRIYA', 'cover for [name]'],
    ['the person\'s email and id', 'temp for E4417 (priya.natarajan@example.com)', 'temp for [id] ([email])'],
    ['any email', 'reports to j.smith@gulfcoast.example', 'reports to [email]'],
    ['phone numbers', 'Dispatcher ext 555-0142, cell +1 (713) 555-0199', 'Dispatcher ext [phone], cell [phone]'],
    ['US social security numbers', 'Operator 123-45-6789', 'Operator [national-id]'],
    ['UK national insurance numbers', 'Fitter AB 12 34 56 C', 'Fitter [national-id]'],
    ['employee-style ids', 'Backfill EMP-00042 / #12345 / 9876543', 'Backfill [id] / [id] / [id]'],
    ['urls', 'see https://intranet.example/people/42', 'see [url]'],
  ])('scrubs %s', (_what, input, expected) => {
    expect(redactText(input, person)).toBe(expected);
  });

  it.each(['Chemical Process Operator II', 'Sr. Maint Tech - B shift', 'RN (Occupational Health)', 'Forklift Operator, Whse 3', 'HSE Coordinator'])(
    'leaves a plain job title alone: %s',
    (title) => {
      expect(redactText(title, person)).toBe(title);
    },
  );

  it('a mapping input keeps only the five job attributes, scrubbed; a job code that looks like an id is dropped', () => {
    const input = { jobTitle: 'Process Tech for Priya', jobCode: 'E4417', department: 'OPS', site: 'BAY', employmentType: 'employee' as const, firstName: 'Priya', email: 'x@y.z' };
    expect(redactMappingInput(input, person)).toEqual({ jobTitle: 'Process Tech for [name]', jobCode: null, department: 'OPS', site: 'BAY', employmentType: 'employee' });
    expect(redactMappingInput({ jobTitle: 'Operator', jobCode: 'OPR2' }, person).jobCode).toBe('OPR2');
  });

  it('the prompt built from a redacted input carries no PII', () => {
    const messages = jobMappingMessages(redactMappingInput({ jobTitle: 'Asst to Priya Natarajan, 555-0142', jobCode: null }, person), org);
    const sent = JSON.stringify(messages).toLowerCase();
    for (const value of Object.values(person)) expect(sent).not.toContain(value.toLowerCase());
    expect(sent).not.toContain('555-0142');
  });
});

describe('the deterministic mapper', () => {
  it.each<[string, Partial<Parameters<typeof mapJobDeterministically>[0]>, string | null]>([
    ['a code in another case and punctuation', { jobTitle: 'whatever', jobCode: 'chm op1' }, 'CHM-OP1'],
    ['an abbreviated senior title', { jobTitle: 'Sr. Process Tech', department: 'OPS', site: 'BAY' }, 'PRC-TEC'],
    ['typos', { jobTitle: 'Maintenence Techncian', department: 'MNT' }, 'MNT-TEC'],
    ['a level II operator', { jobTitle: 'Chem Opr II', department: 'OPS', site: 'BAY' }, 'CHM-OP2'],
    ['"Operator" at a chemical plant', { jobTitle: 'Operator', department: 'OPS', site: 'BAY' }, 'CHM-OP1'],
    ['"Operator" in production at a factory', { jobTitle: 'Operator', department: 'PRD', site: 'DAY' }, 'PRD-OP'],
    ['"Supervisor" in production', { jobTitle: 'Supervisor', department: 'PRD', site: 'Dayton Plant' }, 'PRD-SUP'],
    ['a shift suffix', { jobTitle: 'RN - nights', department: 'Clinical', site: 'Pasadena Clinic' }, 'RN'],
    ['a contractor', { jobTitle: 'Millwright', department: 'MNT', employmentType: 'contractor' }, 'CTR-MNT'],
    ['nothing like it in the catalog', { jobTitle: 'Barista' }, null],
  ])('%s', (_name, input, expected) => {
    const answer = mapJobDeterministically({ jobTitle: '', ...input } as never, org);
    expect(answer.jobCode).toBe(expected);
    expect(catalogProblems(answer, org)).toEqual([]);
    expect(answer.rationale.length).toBeGreaterThan(10);
  });

  it('the job-code table is certain; a title alone is not', () => {
    expect(mapByJobCodeTable('PRC SUP', org)?.confidence).toBe(0.98);
    expect(mapByJobCodeTable('OPR-77', org)).toBeNull();
    expect(mapJobDeterministically({ jobTitle: 'Operator' }, org).confidence).toBeLessThan(org.ai.confidenceThreshold);
  });

  it('an ambiguous title is less confident than a clear one', () => {
    const clear = mapJobDeterministically({ jobTitle: 'Registered Nurse', department: 'CLS', site: 'CLN' }, org);
    const vague = mapJobDeterministically({ jobTitle: 'Technician' }, org);
    expect(clear.confidence).toBeGreaterThan(vague.confidence);
  });

  it('tokens expand abbreviations, make levels explicit and drop shift noise', () => {
    expect(tokens('Sr. Maint Tech II - B shift')).toEqual(['senior', 'maintenance', 'technician', 'level2']);
    expect(tokens('Op., Chem (nights)')).toEqual(['operator', 'chemical']);
  });
});

describe('catalog checks and approval', () => {
  const answer = (overrides: Partial<JobMappingAnswer>): JobMappingAnswer => ({ ...mappingForJobCode(org, 'PRC-TEC')!, confidence: 0.9, rationale: 'x', ...overrides });

  it('names every role, group, job code and curriculum that is not in the catalog', () => {
    expect(catalogProblems(answer({ jobCode: 'ASTRO-1', role: 'astronaut', groups: ['moon-base'], curricula: ['zero-g'] }), org)).toEqual([
      'job code "ASTRO-1" is not in the catalog',
      'role "astronaut" is not in the catalog',
      'group "moon-base" is not in the catalog',
      'curriculum "zero-g" is not in the catalog',
    ]);
  });

  it.each<[string, Partial<JobMappingAnswer>, Partial<{ shadowMode: boolean; confidenceThreshold: number }>, RegExp[]]>([
    ['confident, not leadership', {}, {}, []],
    ['below the threshold', { confidence: 0.6 }, {}, [/confidence 0.60 is below the organisation's threshold 0.75/]],
    ['a leadership role', { jobCode: 'PRC-SUP', role: 'supervisor' }, {}, [/leadership path/]],
    ['shadow mode', {}, { shadowMode: true }, [/shadow mode/]],
    ['a stricter threshold', { confidence: 0.9 }, { confidenceThreshold: 0.95 }, [/below the organisation's threshold 0.95/]],
  ])('%s', (_name, overrides, ai, expected) => {
    const custom = Organisation.parse({ ...org, ai: { ...org.ai, ...ai } });
    const reasons = approvalReasons(answer(overrides), custom);
    expect(reasons).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(reasons[i]).toMatch(re));
  });
});

describe('skills', () => {
  it.each([
    ['Python 3', 'python'],
    ['python programming', 'python'],
    ['PYTHON', 'python'],
    ['Lock out / tag out', 'loto'],
    ['forklift operation', 'forklift'],
    ['MS Excel', 'spreadsheets'],
    ['underwater basket weaving', null],
  ])('"%s" normalises to %s', (label, skillId) => {
    expect(normaliseSkillDeterministically(label, org).skillId).toBe(skillId);
  });

  it('completed courses show skills, with a proficiency from how much of the skill is done and how well', () => {
    const done = (courseId: string, score?: number) => ({ courseId, status: 'completed' as const, completedAt: '2026-10-01T10:00:00Z', score });
    const skills = inferSkills([done('LOTO-201', 95), done('PSM-201', 80), done('OQ-192', 92), done('OQ-0401', 96), done('OQ-0601', 99), { courseId: 'FRK-201', status: 'enrolled', completedAt: null }], org);
    const byId = Object.fromEntries(skills.map((s) => [s.skillId, s.proficiency]));
    expect(byId).toEqual({ loto: 'advanced', 'process-safety': 'foundational', 'pipeline-oq': 'advanced' });
    expect(skills.find((s) => s.skillId === 'process-safety')!.evidence).toEqual([{ courseId: 'PSM-201', completedAt: '2026-10-01T10:00:00Z' }]);
  });
});
