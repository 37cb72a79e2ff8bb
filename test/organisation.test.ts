import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { currentOrganisation, loadOrganisation, OrganisationConfigError, SAMPLE_ORGANISATION_PATH } from '../domain/load-organisation';

// The bundled sample organisation, and the validation that protects users' own files (SPEC §1.6, §10).

const org = loadOrganisation(SAMPLE_ORGANISATION_PATH);
const course = (code: string) => {
  const found = org.courses.find((c) => c.code === code);
  if (!found) throw new Error(`course ${code} is not in the sample organisation`);
  return found;
};

const dir = mkdtempSync(join(tmpdir(), 'hrsync-org-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function writeConfig(text: string, ext = 'yaml'): string {
  const file = join(dir, `org-${++fileCount}.${ext}`);
  writeFileSync(file, text);
  return file;
}

// The raw, unvalidated YAML document, mutated freely by the cases below.
type Raw = Record<string, any>;
const sampleRaw = (): Raw => parseYaml(readFileSync(SAMPLE_ORGANISATION_PATH, 'utf8'));
const indexOf = (list: Raw[], key: string, value: string) => {
  const i = list.findIndex((x) => x[key] === value);
  if (i < 0) throw new Error(`${value} not found`);
  return i;
};

function loadError(file: string): OrganisationConfigError {
  try {
    loadOrganisation(file);
  } catch (err) {
    expect(err).toBeInstanceOf(OrganisationConfigError);
    return err as OrganisationConfigError;
  }
  throw new Error(`${file} was accepted`);
}

describe('the sample organisation', () => {
  it('loads from the bundled file, and loadOrganisation() defaults to it', () => {
    expect(org.name).toBe('Gulfcoast Materials Co.');
    if (!process.env.HRSYNC_CONFIG) expect(loadOrganisation()).toEqual(org);
  });

  it('has at least three sites: a PSM-covered chemical plant, a manufacturing plant and a healthcare site', () => {
    expect(org.sites.length).toBeGreaterThanOrEqual(3);
    expect(org.sites.filter((s) => s.kind === 'chemical' && s.psmCovered)).not.toHaveLength(0);
    expect(org.sites.filter((s) => s.kind === 'manufacturing')).not.toHaveLength(0);
    expect(org.sites.filter((s) => s.kind === 'healthcare')).not.toHaveLength(0);
    for (const site of org.sites.filter((s) => s.kind !== 'office')) expect(site.hazards.length, `${site.code} hazards`).toBeGreaterThan(0);
  });

  it('has at least twelve job codes, and codes are unique in every list', () => {
    expect(org.jobCodes.length).toBeGreaterThanOrEqual(12);
    const lists: [string, string[]][] = [
      ['jobCodes', org.jobCodes.map((j) => j.code)],
      ['courses', org.courses.map((c) => c.code)],
      ['curricula', org.curricula.map((c) => c.id)],
      ['sites', org.sites.map((s) => s.code)],
      ['groups', org.groups.map((g) => g.code)],
      ['roles', org.roles.map((r) => r.id)],
      ['departments', org.departments.map((d) => d.code)],
      ['requirements', org.requirements.map((r) => r.id)],
    ];
    for (const [name, codes] of lists) expect(new Set(codes).size, `duplicates in ${name}`).toBe(codes.length);
  });

  it.each<[string, string, number | undefined, number | undefined, RegExp]>([
    // course, what, recertifyMonths, retentionYears (undefined: not checked), citation
    ['PSM-201', 'PSM initial and refresher at least every 3 years', 36, undefined, /1910\.119\(g\)/],
    ['FRK-201', 'forklift evaluation at least every 3 years', 36, undefined, /1910\.178\(l\)/],
    ['BBP-201', 'bloodborne pathogens annually, records kept 3 years', 12, 3, /1910\.1030\(g\)/],
    ['HIPAA-101', 'HIPAA, records kept 6 years', undefined, 6, /164\.530/],
    ['HAZ-101', 'HazCom at initial assignment', undefined, undefined, /1910\.1200\(h\)/],
  ])('%s: %s (SPEC §10)', (code, _what, recertifyMonths, retentionYears, citation) => {
    const c = course(code);
    if (recertifyMonths !== undefined) expect(c.recertifyMonths).toBe(recertifyMonths);
    if (retentionYears !== undefined) expect(c.retentionYears).toBe(retentionYears);
    expect(c.citation?.regulation).toMatch(citation);
  });

  it('every site with hazards has a site curriculum with HazCom and its own chemicals (new hazard on transfer)', () => {
    for (const site of org.sites.filter((s) => s.hazards.length)) {
      const rules = org.requirements.filter((r) => r.when.sites?.includes(site.code));
      const courses = rules.flatMap((r) => r.curricula).flatMap((id) => org.curricula.find((c) => c.id === id)?.items ?? []).map((i) => i.course);
      expect(courses, site.code).toContain('HAZ-101');
      expect(courses, site.code).toContain(`HAZ-${site.code}`);
    }
  });

  it('every safety course in every curriculum is due on or before the anchor', () => {
    const safety = new Set(org.courses.filter((c) => c.category === 'safety').map((c) => c.code));
    const late = org.curricula.flatMap((c) => c.items.filter((i) => safety.has(i.course) && i.dueOffsetDays > 0).map((i) => `${c.id}/${i.course}`));
    expect(late).toEqual([]);
  });
});

describe('an organisation file that names something unknown, or schedules safety after the first shift, is rejected', () => {
  const cases: [string, (raw: Raw) => string, RegExp][] = [
    [
      'unknown course in a curriculum',
      (raw) => {
        const i = indexOf(raw.curricula, 'id', 'site-dayton');
        raw.curricula[i].items[2].course = 'HAZ-MARS';
        return `curricula.${i}.items.2.course`;
      },
      /unknown course "HAZ-MARS"/,
    ],
    [
      'unknown group on a site',
      (raw) => {
        const i = indexOf(raw.sites, 'code', 'CLN');
        raw.sites[i].groups.push('site-mars');
        return `sites.${i}.groups.1`;
      },
      /unknown group "site-mars"/,
    ],
    [
      'unknown group on a department',
      (raw) => {
        const i = indexOf(raw.departments, 'code', 'LOG');
        raw.departments[i].group = 'dept-nowhere';
        return `departments.${i}.group`;
      },
      /unknown group "dept-nowhere"/,
    ],
    [
      'unknown group on a job code',
      (raw) => {
        const i = indexOf(raw.jobCodes, 'code', 'PRC-SUP');
        raw.jobCodes[i].groups = ['people-leaders', 'secret-society'];
        return `jobCodes.${i}.groups.1`;
      },
      /unknown group "secret-society"/,
    ],
    [
      'unknown employment-type group',
      (raw) => {
        raw.employmentTypeGroups.contractor = 'vendors';
        return 'employmentTypeGroups.contractor';
      },
      /unknown group "vendors"/,
    ],
    [
      'unknown role on a job code',
      (raw) => {
        const i = indexOf(raw.jobCodes, 'code', 'RN');
        raw.jobCodes[i].role = 'astronaut';
        return `jobCodes.${i}.role`;
      },
      /unknown role "astronaut"/,
    ],
    [
      'unknown curriculum in a requirement',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'forklift');
        raw.requirements[i].curricula = ['powered-trucks', 'jetpacks'];
        return `requirements.${i}.curricula.1`;
      },
      /unknown curriculum "jetpacks"/,
    ],
    [
      'unknown branch on a site',
      (raw) => {
        const i = indexOf(raw.sites, 'code', 'HQ');
        raw.sites[i].branch = 'BR-MOON';
        return `sites.${i}.branch`;
      },
      /unknown branch "BR-MOON"/,
    ],
    [
      'unknown site in a requirement',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'at-dayton');
        raw.requirements[i].when.sites = ['DAYTON'];
        return `requirements.${i}.when.sites.0`;
      },
      /unknown site "DAYTON"/,
    ],
    [
      'unknown job code in a requirement',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'clinical');
        raw.requirements[i].when.jobCodes.push('LPN');
        return `requirements.${i}.when.jobCodes.2`;
      },
      /unknown job code "LPN"/,
    ],
    [
      'unknown department in a requirement',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'forklift');
        raw.requirements[i].when.departments = ['WAREHOUSE'];
        return `requirements.${i}.when.departments.0`;
      },
      /unknown department "WAREHOUSE"/,
    ],
    [
      'a safety course due a day after the first shift',
      (raw) => {
        const i = indexOf(raw.curricula, 'id', 'powered-trucks');
        raw.curricula[i].items[0].dueOffsetDays = 1;
        return `curricula.${i}.items.0.dueOffsetDays`;
      },
      /safety course "FRK-201" must be due on or before/,
    ],
    [
      'a site induction due two weeks in',
      (raw) => {
        const i = indexOf(raw.curricula, 'id', 'site-baytown');
        raw.curricula[i].items[0].dueOffsetDays = 14;
        return `curricula.${i}.items.0.dueOffsetDays`;
      },
      /safety course "IND-BAY"/,
    ],
    [
      'a course of an unknown category',
      (raw) => {
        const i = indexOf(raw.courses, 'code', 'ERG-101');
        raw.courses[i].category = 'fun';
        return `courses.${i}.category`;
      },
      /.+/,
    ],
    [
      'a recertification interval that is not a whole number of months',
      (raw) => {
        const i = indexOf(raw.courses, 'code', 'BBP-201');
        raw.courses[i].recertifyMonths = 0;
        return `courses.${i}.recertifyMonths`;
      },
      /.+/,
    ],
    [
      'an approval kind nobody may decide',
      (raw) => {
        delete raw.approvals.kinds.leadership;
        return 'approvals.kinds.leadership';
      },
      /is required: who approves leadership changes/,
    ],
    [
      'an approval timer that is not a duration',
      (raw) => {
        raw.approvals.kinds['ai-mapping'].remindAfter = 'soon';
        return 'approvals.kinds.ai-mapping.remindAfter';
      },
      /must be a duration like 90s, 15m, 4h or 2d/,
    ],
    [
      'job-change rules and nobody to approve them',
      (raw) => {
        delete raw.approvals.kinds['job-change'];
        return 'approvals.kinds.job-change';
      },
      /is required when learning.jobChanges has rules: who approves job-change changes/,
    ],
    [
      'a job-change rule towards a job code the organisation does not have',
      (raw) => {
        raw.learning.jobChanges[0].to = 'CHM-OP9';
        return 'learning.jobChanges.0.to';
      },
      /names unknown job code "CHM-OP9"/,
    ],
    [
      'a job-change rule on a skill not in the taxonomy',
      (raw) => {
        raw.learning.jobChanges[0].skill = 'juggling';
        return 'learning.jobChanges.0.skill';
      },
      /names unknown skill "juggling"/,
    ],
    [
      'a proficiency that is not one of foundational, proficient, advanced',
      (raw) => {
        raw.learning.jobChanges[0].proficiency = 'expert';
        return 'learning.jobChanges.0.proficiency';
      },
      /.+/,
    ],
    [
      'a renewal lead time that is not a duration',
      (raw) => {
        raw.learning.recertification.reenrollBefore = 'two months';
        return 'learning.recertification.reenrollBefore';
      },
      /must be a duration like 90s, 15m, 4h or 2d/,
    ],
    [
      'two courses with the same code',
      (raw) => {
        raw.courses.push({ ...raw.courses[0] });
        return `courses.${raw.courses.length - 1}`;
      },
      /repeats "WEL-100"; each must be unique/,
    ],
    [
      'no name',
      (raw) => {
        delete raw.name;
        return 'name';
      },
      /.+/,
    ],
  ];

  it.each(cases)('%s', (_name, mutate, detail) => {
    const raw = sampleRaw();
    const path = mutate(raw);
    const file = writeConfig(stringifyYaml(raw));
    const error = loadError(file);
    expect(error.path).toBe(file);
    expect(error.message).toContain(`organisation config ${file}: ${path} `);
    expect(error.message.slice(error.message.indexOf(`${path} `) + path.length + 1)).toMatch(detail);
  });

  it.each<[string, (raw: Raw) => void]>([
    ['the sample written back unchanged', () => {}],
    [
      'an organisation file from before learning (no job-change rules, no job-change approvers)',
      (raw) => {
        delete raw.learning;
        delete raw.approvals.kinds['job-change'];
      },
    ],
    [
      'a non-safety course due a month in',
      (raw) => {
        raw.curricula[indexOf(raw.curricula, 'id', 'clinical-safety')].items[1].dueOffsetDays = 30;
      },
    ],
    [
      'a safety course due a week before the first shift',
      (raw) => {
        raw.curricula[indexOf(raw.curricula, 'id', 'powered-trucks')].items[0].dueOffsetDays = -7;
      },
    ],
  ])('accepts %s', (_name, mutate) => {
    const raw = sampleRaw();
    mutate(raw);
    const loaded = loadOrganisation(writeConfig(stringifyYaml(raw)));
    expect(loaded.sites.map((s) => s.code)).toEqual(org.sites.map((s) => s.code));
  });

  it('accepts the same organisation as JSON', () => {
    const loaded = loadOrganisation(writeConfig(JSON.stringify(sampleRaw()), 'json'));
    expect(loaded).toEqual(org);
  });

  it.each([
    ['YAML that does not parse', 'name: [unclosed\nsites: {'],
    ['an empty file', ''],
    ['a list instead of a mapping', '- a\n- b\n'],
  ])('rejects %s with an OrganisationConfigError naming the file', (_name, text) => {
    const file = writeConfig(text);
    const error = loadError(file);
    expect(error.path).toBe(file);
    expect(error.message).toContain(`organisation config ${file}: `);
  });

  it('rejects a file that does not exist', () => {
    const file = join(dir, 'missing.yaml');
    const error = loadError(file);
    expect(error.path).toBe(file);
    expect(error.message).toMatch(/ENOENT/);
  });
});

describe('access groups and lifecycle settings in the organisation file', () => {
  it.each<[string, (raw: Raw) => string, RegExp]>([
    [
      'a requirement naming an unknown access group',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'dcs-access');
        raw.requirements[i].when.accessGroups = ['DCS Engineering Workstation', 'Okta Superusers'];
        return `requirements.${i}.when.accessGroups.1`;
      },
      /unknown access group "Okta Superusers"/,
    ],
    [
      'a requirement naming an LMS group where an access group belongs',
      (raw) => {
        const i = indexOf(raw.requirements, 'id', 'ehr-access');
        raw.requirements[i].when.accessGroups = ['idp-ehr-clinical'];
        return `requirements.${i}.when.accessGroups.0`;
      },
      /unknown access group "idp-ehr-clinical"/,
    ],
    [
      'an access group naming an unknown LMS group',
      (raw) => {
        const i = indexOf(raw.accessGroups, 'name', 'Privileged IT Administrators');
        raw.accessGroups[i].group = 'idp-domain-admins';
        return `accessGroups.${i}.group`;
      },
      /unknown group "idp-domain-admins"/,
    ],
    [
      'a requirement naming an access group the file no longer lists',
      (raw) => {
        raw.accessGroups = raw.accessGroups.filter((a: Raw) => a.name !== 'EHR Clinical Access');
        return `requirements.${indexOf(raw.requirements, 'id', 'ehr-access')}.when.accessGroups.0`;
      },
      /unknown access group "EHR Clinical Access"/,
    ],
  ])('rejects %s, naming the path', (_name, mutate, detail) => {
    const raw = sampleRaw();
    const path = mutate(raw);
    const file = writeConfig(stringifyYaml(raw));
    const error = loadError(file);
    expect(error.path).toBe(file);
    expect(error.message).toContain(`organisation config ${file}: ${path} `);
    expect(error.message.slice(error.message.indexOf(`${path} `) + path.length + 1)).toMatch(detail);
  });

  it('accepts an access group without an LMS group to mirror', () => {
    const raw = sampleRaw();
    delete raw.accessGroups[indexOf(raw.accessGroups, 'name', 'EHR Clinical Access')].group;
    const loaded = loadOrganisation(writeConfig(stringifyYaml(raw)));
    expect(loaded.accessGroups.find((a) => a.name === 'EHR Clinical Access')?.group).toBeUndefined();
  });

  it('the sample sets a 14-day contractor reminder and relies on the 5-year default retention', () => {
    expect(org.contractors.reminderDaysBeforeEnd).toBe(14);
    expect(org.defaultRetentionYears).toBe(5);
    expect(sampleRaw().defaultRetentionYears).toBeUndefined();
  });

  it.each<[string, (raw: Raw) => void, number, number]>([
    // case, change, reminderDaysBeforeEnd, defaultRetentionYears
    [
      'both absent: 14 days and 5 years',
      (raw) => {
        delete raw.contractors;
        delete raw.defaultRetentionYears;
      },
      14,
      5,
    ],
    [
      'contractors present but empty: 14 days',
      (raw) => {
        raw.contractors = {};
      },
      14,
      5,
    ],
    [
      'both given: kept',
      (raw) => {
        raw.contractors = { reminderDaysBeforeEnd: 30 };
        raw.defaultRetentionYears = 7;
      },
      30,
      7,
    ],
    [
      'a reminder on the end day itself (0): kept',
      (raw) => {
        raw.contractors = { reminderDaysBeforeEnd: 0 };
      },
      0,
      5,
    ],
  ])('defaults: %s', (_name, change, reminderDaysBeforeEnd, defaultRetentionYears) => {
    const raw = sampleRaw();
    change(raw);
    const loaded = loadOrganisation(writeConfig(stringifyYaml(raw)));
    expect(loaded.contractors.reminderDaysBeforeEnd).toBe(reminderDaysBeforeEnd);
    expect(loaded.defaultRetentionYears).toBe(defaultRetentionYears);
  });

  it.each<[string, (raw: Raw) => string]>([
    [
      'a negative reminder',
      (raw) => {
        raw.contractors = { reminderDaysBeforeEnd: -1 };
        return 'contractors.reminderDaysBeforeEnd';
      },
    ],
    [
      'a zero retention',
      (raw) => {
        raw.defaultRetentionYears = 0;
        return 'defaultRetentionYears';
      },
    ],
  ])('rejects %s, naming the path', (_name, mutate) => {
    const raw = sampleRaw();
    const path = mutate(raw);
    const file = writeConfig(stringifyYaml(raw));
    expect(loadError(file).message).toContain(`organisation config ${file}: ${path} `);
  });
});

describe('the organisation as the worker reads it for every workflow', () => {
  it('is parsed once while the file is unchanged, again after an edit, frozen, and a broken edit is named', () => {
    const file = writeConfig(readFileSync(SAMPLE_ORGANISATION_PATH, 'utf8'));
    const read = currentOrganisation(file);
    const first = read();
    expect(read()).toBe(first);
    expect(Object.isFrozen(first.jobCodes[0])).toBe(true);
    expect(() => (first.jobCodes as unknown[]).push({})).toThrow(TypeError);

    const raw = sampleRaw();
    raw.sites[0].name = 'Renamed site';
    writeFileSync(file, stringifyYaml(raw));
    const edited = read();
    expect(edited).not.toBe(first);
    expect(edited.sites[0]!.name).toBe('Renamed site');

    writeFileSync(file, 'sites: [');
    expect(() => read()).toThrow(OrganisationConfigError);
    rmSync(file);
    expect(() => read()).toThrow(/ENOENT/);
  });
});
