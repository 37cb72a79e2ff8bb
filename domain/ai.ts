import { z } from 'zod';
import { EmploymentType } from './hr-event';
import type { HrProfile } from './hr-event';
import type { Organisation } from './organisation';

// The AI mapper's contract: what may be asked (only job attributes, never a person), the shape
// of an answer, and how an answer is checked against the organisation's catalog.

/** The only attributes a mapping may look at. Names, emails and ids are not among them. */
export const MappingInput = z.object({
  jobTitle: z.string().trim().min(1, 'must not be empty'),
  jobCode: z.string().trim().nullish(),
  department: z.string().trim().nullish(),
  site: z.string().trim().nullish(),
  employmentType: EmploymentType.nullish(),
});
export type MappingInput = z.infer<typeof MappingInput>;

/** What a mapper answers: an organisation job code when one fits, and what the LMS should give. */
export const JobMappingAnswer = z.object({
  jobCode: z.string().nullable(),
  role: z.string(),
  groups: z.array(z.string()),
  curricula: z.array(z.string()),
  confidence: z.number().min(0).max(1),
  rationale: z.string().min(1).max(2000),
});
export type JobMappingAnswer = z.infer<typeof JobMappingAnswer>;

export const MapperKind = z.enum(['llm', 'deterministic']);
export type MapperKind = z.infer<typeof MapperKind>;

/** `hrsync map --json` (SPEC §8). */
export const JobMapping = JobMappingAnswer.extend({ mapper: MapperKind, needsApproval: z.boolean() });
export type JobMapping = z.infer<typeof JobMapping>;

/** A mapping as the governance store records it. */
export interface MappingDecision extends JobMapping {
  decisionId: number;
  cacheKey: string;
  cached: boolean;
  /** Why the deterministic mapper answered instead of the LLM, when it did. */
  fallbackReason: string | null;
  /** Why a person must approve it, when they must. */
  approvalReasons: string[];
}

export const PROMPT_VERSION = 'job-mapping/v1';

/** The catalog a mapper may choose from, as the prompt shows it. */
export function mappingCatalog(org: Organisation) {
  return {
    jobCodes: org.jobCodes.map((j) => ({
      code: j.code,
      title: j.title,
      role: j.role,
      groups: j.groups,
      curricula: jobCurricula(org, j.code),
    })),
    roles: org.roles.map((r) => ({ id: r.id, title: r.title, leadership: r.leadership })),
    groups: org.groups.map((g) => g.code),
    curricula: org.curricula.map((c) => ({ id: c.id, title: c.title })),
    sites: org.sites.map((s) => ({ code: s.code, name: s.name, kind: s.kind })),
    departments: org.departments.map((d) => ({ code: d.code, name: d.name })),
  };
}

/** The curricula the organisation ties to a job code by name (not by site or employment type). */
export function jobCurricula(org: Organisation, jobCode: string): string[] {
  const ids = org.requirements.filter((r) => r.when.jobCodes?.includes(jobCode)).flatMap((r) => r.curricula);
  return [...new Set(ids)];
}

/** The mapping a job code stands for, in the organisation's own terms. */
export function mappingForJobCode(org: Organisation, jobCode: string): Pick<JobMappingAnswer, 'jobCode' | 'role' | 'groups' | 'curricula'> | null {
  const job = org.jobCodes.find((j) => j.code === jobCode);
  if (!job) return null;
  return { jobCode: job.code, role: job.role, groups: job.groups, curricula: jobCurricula(org, job.code) };
}

/**
 * The problems with an answer, naming whatever is not in the catalog; empty when it is usable.
 * A mapper that invents a role, group or course must not reach the LMS.
 */
export function catalogProblems(answer: JobMappingAnswer, org: Organisation): string[] {
  const problems: string[] = [];
  if (answer.jobCode !== null && !org.jobCodes.some((j) => j.code === answer.jobCode)) problems.push(`job code "${answer.jobCode}" is not in the catalog`);
  if (!org.roles.some((r) => r.id === answer.role)) problems.push(`role "${answer.role}" is not in the catalog`);
  for (const g of answer.groups) if (!org.groups.some((x) => x.code === g)) problems.push(`group "${g}" is not in the catalog`);
  for (const c of answer.curricula) if (!org.curricula.some((x) => x.id === c)) problems.push(`curriculum "${c}" is not in the catalog`);
  return problems;
}

/** Why a mapping needs a person before it is applied: low confidence, a leadership path, shadow mode. */
export function approvalReasons(answer: JobMappingAnswer, org: Organisation): string[] {
  const reasons: string[] = [];
  if (answer.confidence < org.ai.confidenceThreshold) {
    reasons.push(`confidence ${answer.confidence.toFixed(2)} is below the organisation's threshold ${org.ai.confidenceThreshold}`);
  }
  if (org.roles.find((r) => r.id === answer.role)?.leadership) reasons.push(`role "${answer.role}" is a leadership path`);
  if (org.ai.shadowMode) reasons.push('shadow mode: AI mappings are proposed and audited, applied only after approval');
  return reasons;
}

/**
 * The JSON schema of an answer for the LLM's structured output, with the catalog's names as
 * enums so a model that honours it cannot name anything else (the answer is checked anyway).
 */
export function jobMappingJsonSchema(org: Organisation) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['jobCode', 'role', 'groups', 'curricula', 'confidence', 'rationale'],
    properties: {
      jobCode: { anyOf: [{ type: 'string', enum: org.jobCodes.map((j) => j.code) }, { type: 'null' }] },
      role: { type: 'string', enum: org.roles.map((r) => r.id) },
      groups: { type: 'array', items: { type: 'string', enum: org.groups.map((g) => g.code) } },
      curricula: { type: 'array', items: { type: 'string', enum: org.curricula.map((c) => c.id) } },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      rationale: { type: 'string' },
    },
  } as const;
}

export const JOB_MAPPING_INSTRUCTIONS = [
  'You map a job, described only by its HR attributes, to an organisation\'s LMS catalog.',
  'The user message is JSON: {"task":"map-job","input":{jobTitle,jobCode,department,site,employmentType},"catalog":{...}}.',
  'Pick the catalog job code that best fits (or null when none does), and give the role, groups and curricula for it,',
  'using only names that appear in the catalog. Give a confidence between 0 and 1 that is honest about ambiguity,',
  'and a one-paragraph rationale that cites the attributes you relied on. Answer with JSON only.',
].join(' ');

/** The messages of a job-mapping request. The input must already be redacted. */
export function jobMappingMessages(redacted: MappingInput, org: Organisation) {
  return [
    { role: 'system' as const, content: JOB_MAPPING_INSTRUCTIONS },
    { role: 'user' as const, content: JSON.stringify({ task: 'map-job', input: redacted, catalog: mappingCatalog(org) }) },
  ];
}

/** The profile as planning sees it once a mapping is accepted: the job code, or the explicit role, groups and curricula. */
export function withJobMapping(profile: HrProfile, mapping: Pick<JobMappingAnswer, 'jobCode' | 'role' | 'groups' | 'curricula'>): HrProfile {
  return mapping.jobCode ? { ...profile, jobCode: mapping.jobCode } : { ...profile, jobMapping: { role: mapping.role, groups: mapping.groups, curricula: mapping.curricula } };
}
