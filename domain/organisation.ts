import { z } from 'zod';
import { EmploymentType } from './hr-event';

// The organisation lives in configuration, not code (SPEC §1.6). One schema per concept.

const code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a code of letters, digits, ".", "_" or "-"');

export const Citation = z.object({
  regulation: z.string().min(1),
  requirement: z.string().min(1),
});

export const Course = z.object({
  code,
  title: z.string().min(1),
  category: z.enum(['safety', 'compliance', 'role', 'leadership', 'welcome']),
  /** Recertification interval; absent means once. */
  recertifyMonths: z.number().int().positive().optional(),
  /** How long the training record is kept after separation; absent: the organisation's default. */
  retentionYears: z.number().int().positive().optional(),
  citation: Citation.optional(),
});
export type Course = z.infer<typeof Course>;

export const CurriculumItem = z.object({
  course: code,
  /** Days after the anchor date (start or effective date) the course is due; safety courses are due on or before the anchor. */
  dueOffsetDays: z.number().int(),
});

export const Curriculum = z.object({
  id: code,
  title: z.string().min(1),
  items: z.array(CurriculumItem).min(1),
});
export type Curriculum = z.infer<typeof Curriculum>;

export const SiteKind = z.enum(['chemical', 'manufacturing', 'healthcare', 'office', 'warehouse']);

export const Site = z.object({
  code,
  name: z.string().min(1),
  kind: SiteKind,
  /** Covered by OSHA Process Safety Management (29 CFR 1910.119). */
  psmCovered: z.boolean().default(false),
  /** Hazardous chemicals present, for Hazard Communication (1910.1200). */
  hazards: z.array(z.string()).default([]),
  branch: code,
  groups: z.array(code).default([]),
});
export type Site = z.infer<typeof Site>;

export const Department = z.object({ code, name: z.string().min(1), group: code });

export const LmsRole = z.object({
  id: code,
  title: z.string().min(1),
  leadership: z.boolean().default(false),
});

export const JobCode = z.object({
  code,
  title: z.string().min(1),
  role: code,
  groups: z.array(code).default([]),
  /** Other codes and titles the HRIS uses for this job (legacy codes, common spellings). */
  aliases: z.array(z.string()).default([]),
  /** Hiring into or moving into this job waits for a person (approval kind `configured`). */
  requiresApproval: z.boolean().default(false),
  /** Where the job is usually found, so the mapper can tell look-alike titles apart. */
  hints: z.object({ departments: z.array(code).default([]), siteKinds: z.array(SiteKind).default([]) }).default({ departments: [], siteKinds: [] }),
});
export type JobCode = z.infer<typeof JobCode>;

/** Every rule whose conditions all hold for a profile contributes its curricula. */
export const RequirementRule = z.object({
  id: code,
  description: z.string().min(1),
  when: z
    .object({
      jobCodes: z.array(code).optional(),
      sites: z.array(code).optional(),
      departments: z.array(code).optional(),
      employmentTypes: z.array(EmploymentType).optional(),
      psmSite: z.boolean().optional(),
      /** Identity-provider groups (any of them); see `accessGroups`. */
      accessGroups: z.array(z.string()).optional(),
      /** A contractor's covered tasks (any of them, case-insensitive), e.g. DOT OQ task ids. */
      coveredTasks: z.array(z.string()).optional(),
    })
    .default({}),
  curricula: z.array(code).min(1),
});
export type RequirementRule = z.infer<typeof RequirementRule>;

/** An identity-provider group (Okta, Entra) whose members hrsync mirrors into an LMS group. */
export const AccessGroup = z.object({
  name: z.string().min(1),
  group: code.optional(),
  description: z.string().optional(),
  /** A grant of this group waits for a person (approval kind `configured`). */
  requiresApproval: z.boolean().default(false),
});

const duration = z.string().regex(/^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/, 'must be a duration like 90s, 15m, 4h or 2d');

export const APPROVAL_KINDS = ['ai-mapping', 'leadership', 'bulk-deactivation', 'configured', 'job-change'] as const;
export const ApprovalKind = z.enum(APPROVAL_KINDS);
export type ApprovalKind = z.infer<typeof ApprovalKind>;

/** Who may decide a kind of change, and what happens when nobody does. */
export const ApprovalPolicy = z.object({
  approvers: z.array(z.string().min(1)).min(1),
  /** Remind the approvers after this long without a decision. */
  remindAfter: duration.optional(),
  /** Then add `escalateTo` to the approvers (and tell them). */
  escalateAfter: duration.optional(),
  escalateTo: z.array(z.string().min(1)).default([]),
  /** Then reject automatically. */
  rejectAfter: duration.optional(),
});
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

/** A skill in the organisation's taxonomy; free-form labels normalise onto its id. */
export const Skill = z.object({
  id: code,
  label: z.string().min(1),
  aliases: z.array(z.string()).default([]),
  /** Completing these courses shows the skill. */
  courses: z.array(code).default([]),
});
export type Skill = z.infer<typeof Skill>;

/** Proficiencies, lowest first: what completed training shows (domain/skills.ts inferSkills). */
export const PROFICIENCY = ['foundational', 'proficient', 'advanced'] as const;
export const Proficiency = z.enum(PROFICIENCY);
export type Proficiency = z.infer<typeof Proficiency>;

/** A skill level that makes a person a candidate for another job: a job-change request, always approved by a person. */
export const JobChangeRule = z.object({
  skill: code,
  proficiency: Proficiency,
  /** The jobs this applies to. */
  from: z.array(code).min(1),
  to: code,
});
export type JobChangeRule = z.infer<typeof JobChangeRule>;

export const Learning = z.object({
  /** How long before a certificate expires the person is enrolled again, and reminded. */
  recertification: z
    .object({ reenrollBefore: duration.default('60d'), remindBefore: duration.default('30d') })
    .default({ reenrollBefore: '60d', remindBefore: '30d' }),
  /** Write inferred skills to the HRIS profile. */
  writeSkillsToHris: z.boolean().default(true),
  jobChanges: z.array(JobChangeRule).default([]),
});
export type Learning = z.infer<typeof Learning>;

export const Branch = z.object({ code, name: z.string().min(1) });
export const Group = z.object({ code, name: z.string().min(1) });

export const Organisation = z
  .object({
    name: z.string().min(1),
    /** Groups whose names start with this are computed per hire month, e.g. cohort-2026-11. */
    cohortGroupPrefix: code.default('cohort-'),
    branches: z.array(Branch).min(1),
    groups: z.array(Group),
    roles: z.array(LmsRole).min(1),
    courses: z.array(Course).min(1),
    curricula: z.array(Curriculum).min(1),
    sites: z.array(Site).min(1),
    departments: z.array(Department),
    jobCodes: z.array(JobCode).min(1),
    employmentTypeGroups: z.partialRecord(EmploymentType, code).default({}),
    requirements: z.array(RequirementRule).min(1),
    accessGroups: z.array(AccessGroup).default([]),
    contractors: z.object({ reminderDaysBeforeEnd: z.number().int().min(0).default(14) }).default({ reminderDaysBeforeEnd: 14 }),
    ai: z
      .object({
        /** Below this an AI mapping waits for a person. */
        confidenceThreshold: z.number().min(0).max(1).default(0.75),
        /** Propose and audit AI mappings, apply them only after approval. */
        shadowMode: z.boolean().default(false),
      })
      .default({ confidenceThreshold: 0.75, shadowMode: false }),
    skills: z.array(Skill).default([]),
    learning: Learning.default({ recertification: { reenrollBefore: '60d', remindBefore: '30d' }, writeSkillsToHris: true, jobChanges: [] }),
    approvals: z
      .object({
        /** Also hold a hire straight into a leadership role (a promotion into one always waits). */
        leadershipOnHire: z.boolean().default(false),
        /** A plan that deactivates more accounts than this at once waits for a person. */
        bulkDeactivationThreshold: z.number().int().positive().default(25),
        kinds: z.partialRecord(ApprovalKind, ApprovalPolicy),
      })
      .superRefine((a, ctx) => {
        for (const kind of APPROVAL_KINDS) {
          // Job changes are only proposed when learning.jobChanges has rules (checked below).
          if (kind !== 'job-change' && !a.kinds[kind]) ctx.addIssue({ code: 'custom', path: ['kinds', kind], message: `is required: who approves ${kind} changes` });
        }
      }),
    /** Retention of training records for courses that do not set their own. */
    defaultRetentionYears: z.number().int().positive().default(5),
  })
  .superRefine((org, ctx) => {
    const known = (kind: string, list: { code?: string; id?: string }[]) =>
      new Set(list.map((x) => x.code ?? x.id ?? kind));
    const courses = known('course', org.courses);
    const curricula = known('curriculum', org.curricula);
    const branches = known('branch', org.branches);
    const groups = known('group', org.groups);
    const roles = known('role', org.roles);
    const sites = known('site', org.sites);
    const jobs = known('job', org.jobCodes);
    const departments = known('department', org.departments);
    const check = (ok: boolean, path: (string | number)[], message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path, message });
    };
    const unique = (kind: string, list: { code?: string; id?: string }[]) => {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        const key = x.code ?? x.id ?? '';
        check(!seen.has(key), [kind, i], `repeats "${key}"; each must be unique`);
        seen.add(key);
      });
    };
    unique('courses', org.courses);
    unique('curricula', org.curricula);
    unique('branches', org.branches);
    unique('groups', org.groups);
    unique('roles', org.roles);
    unique('sites', org.sites);
    unique('jobCodes', org.jobCodes);
    unique('departments', org.departments);
    unique('requirements', org.requirements);
    unique('skills', org.skills);
    org.skills.forEach((skill, i) =>
      skill.courses.forEach((c, j) => check(courses.has(c), ['skills', i, 'courses', j], `names unknown course "${c}"`)),
    );
    const skillIds = known('skill', org.skills);
    check(
      !org.learning.jobChanges.length || !!org.approvals.kinds['job-change'],
      ['approvals', 'kinds', 'job-change'],
      'is required when learning.jobChanges has rules: who approves job-change changes',
    );
    org.learning.jobChanges.forEach((rule, i) => {
      check(skillIds.has(rule.skill), ['learning', 'jobChanges', i, 'skill'], `names unknown skill "${rule.skill}"`);
      check(jobs.has(rule.to), ['learning', 'jobChanges', i, 'to'], `names unknown job code "${rule.to}"`);
      rule.from.forEach((j, k) => check(jobs.has(j), ['learning', 'jobChanges', i, 'from', k], `names unknown job code "${j}"`));
    });
    org.jobCodes.forEach((job, i) =>
      job.hints.departments.forEach((d, j) => check(departments.has(d), ['jobCodes', i, 'hints', 'departments', j], `names unknown department "${d}"`)),
    );
    const accessGroupNames = new Set(org.accessGroups.map((a) => a.name));
    org.accessGroups.forEach((a, i) => {
      if (a.group) check(groups.has(a.group), ['accessGroups', i, 'group'], `names unknown group "${a.group}"`);
    });
    const courseByCode = new Map(org.courses.map((c) => [c.code, c]));
    org.curricula.forEach((cur, i) =>
      cur.items.forEach((item, j) => {
        check(courses.has(item.course), ['curricula', i, 'items', j, 'course'], `names unknown course "${item.course}"`);
        const course = courseByCode.get(item.course);
        check(
          course?.category !== 'safety' || item.dueOffsetDays <= 0,
          ['curricula', i, 'items', j, 'dueOffsetDays'],
          `safety course "${item.course}" must be due on or before the first shift (dueOffsetDays <= 0)`,
        );
      }),
    );
    org.sites.forEach((site, i) => {
      check(branches.has(site.branch), ['sites', i, 'branch'], `names unknown branch "${site.branch}"`);
      site.groups.forEach((g, j) => check(groups.has(g), ['sites', i, 'groups', j], `names unknown group "${g}"`));
    });
    org.departments.forEach((d, i) => check(groups.has(d.group), ['departments', i, 'group'], `names unknown group "${d.group}"`));
    org.jobCodes.forEach((job, i) => {
      check(roles.has(job.role), ['jobCodes', i, 'role'], `names unknown role "${job.role}"`);
      job.groups.forEach((g, j) => check(groups.has(g), ['jobCodes', i, 'groups', j], `names unknown group "${g}"`));
    });
    Object.entries(org.employmentTypeGroups).forEach(([type, g]) =>
      check(groups.has(g), ['employmentTypeGroups', type], `names unknown group "${g}"`),
    );
    org.requirements.forEach((rule, i) => {
      rule.curricula.forEach((c, j) => check(curricula.has(c), ['requirements', i, 'curricula', j], `names unknown curriculum "${c}"`));
      rule.when.jobCodes?.forEach((c, j) => check(jobs.has(c), ['requirements', i, 'when', 'jobCodes', j], `names unknown job code "${c}"`));
      rule.when.sites?.forEach((c, j) => check(sites.has(c), ['requirements', i, 'when', 'sites', j], `names unknown site "${c}"`));
      rule.when.accessGroups?.forEach((c, j) =>
        check(accessGroupNames.has(c), ['requirements', i, 'when', 'accessGroups', j], `names unknown access group "${c}"`),
      );
      rule.when.departments?.forEach((c, j) =>
        check(departments.has(c), ['requirements', i, 'when', 'departments', j], `names unknown department "${c}"`),
      );
    });
  });
export type Organisation = z.infer<typeof Organisation>;
