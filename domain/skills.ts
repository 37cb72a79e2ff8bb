import { z } from 'zod';
import type { ActualEnrollment } from './lms-state';
import type { Organisation, Proficiency } from './organisation';
import { tokens, weightedOverlap } from './text-similarity';

// Skills: what completed training shows a person can do, and free-form skill labels normalised
// onto the organisation's taxonomy ("Python 3", "python programming" → python).

export const SkillNormalisationAnswer = z.object({
  skills: z.array(
    z.object({
      label: z.string(),
      skillId: z.string().nullable(),
      confidence: z.number().min(0).max(1),
    }),
  ),
});
export type SkillNormalisationAnswer = z.infer<typeof SkillNormalisationAnswer>;

export const SKILLS_PROMPT_VERSION = 'skill-normalisation/v1';

export const SKILL_NORMALISATION_INSTRUCTIONS = [
  'You normalise free-form skill labels onto an organisation\'s skills taxonomy.',
  'The user message is JSON: {"task":"normalise-skills","labels":[...],"taxonomy":[{id,label,aliases}]}.',
  'For every label, in order, answer the taxonomy id it means (or null when none fits) and an honest confidence between 0 and 1.',
  'Use only ids from the taxonomy. Answer with JSON only.',
].join(' ');

export function skillNormalisationMessages(labels: string[], org: Organisation) {
  return [
    { role: 'system' as const, content: SKILL_NORMALISATION_INSTRUCTIONS },
    {
      role: 'user' as const,
      content: JSON.stringify({ task: 'normalise-skills', labels, taxonomy: org.skills.map((s) => ({ id: s.id, label: s.label, aliases: s.aliases })) }),
    },
  ];
}

export function skillNormalisationJsonSchema(org: Organisation) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['skills'],
    properties: {
      skills: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['label', 'skillId', 'confidence'],
          properties: {
            label: { type: 'string' },
            skillId: { anyOf: [{ type: 'string', enum: org.skills.map((s) => s.id) }, { type: 'null' }] },
            confidence: { type: 'number', minimum: 0, maximum: 1 },
          },
        },
      },
    },
  } as const;
}

export type NormalisedSkill = SkillNormalisationAnswer['skills'][number];

/** Below this a label resembles no skill in the taxonomy. */
const SKILL_MATCH_FLOOR = 0.6;

/** A label onto the taxonomy by its labels and aliases (exact after normalising, else by likeness). */
export function normaliseSkillDeterministically(label: string, org: Organisation): NormalisedSkill {
  const words = tokens(label);
  const key = words.join(' ');
  let best: { skillId: string; score: number } | null = null;
  for (const skill of org.skills) {
    for (const name of [skill.id, skill.label, ...skill.aliases]) {
      const candidate = tokens(name);
      if (candidate.join(' ') === key && key) return { label, skillId: skill.id, confidence: 1 };
      const score = weightedOverlap(words, candidate, () => 1);
      if (!best || score > best.score) best = { skillId: skill.id, score };
    }
  }
  if (!best || best.score < SKILL_MATCH_FLOOR) return { label, skillId: null, confidence: 0.2 };
  return { label, skillId: best.skillId, confidence: Number(best.score.toFixed(2)) };
}

export { PROFICIENCY, type Proficiency } from './organisation';

export interface InferredSkill {
  skillId: string;
  label: string;
  proficiency: Proficiency;
  /** The completed courses that show it. */
  evidence: { courseId: string; completedAt: string | null }[];
}

/**
 * What completed training shows a person can do: a skill whose courses are partly completed is
 * foundational, wholly completed proficient, and wholly completed with high scores advanced.
 */
export function inferSkills(enrollments: (Pick<ActualEnrollment, 'courseId' | 'status' | 'completedAt'> & { score?: number | null })[], org: Organisation): InferredSkill[] {
  const completed = new Map(enrollments.filter((e) => e.status === 'completed').map((e) => [e.courseId, e]));
  const out: InferredSkill[] = [];
  for (const skill of org.skills) {
    const done = skill.courses.filter((c) => completed.has(c));
    if (!done.length) continue;
    const scores = done.map((c) => completed.get(c)!.score).filter((s): s is number => typeof s === 'number');
    const all = done.length === skill.courses.length;
    const high = scores.length === done.length && scores.every((s) => s >= 90);
    out.push({
      skillId: skill.id,
      label: skill.label,
      proficiency: !all ? 'foundational' : high ? 'advanced' : 'proficient',
      evidence: done.map((c) => ({ courseId: c, completedAt: completed.get(c)!.completedAt ?? null })),
    });
  }
  return out;
}
