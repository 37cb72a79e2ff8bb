import type { JobMappingAnswer, MappingInput } from './ai';
import { mappingForJobCode } from './ai';
import type { JobCode, Organisation } from './organisation';
import { findSite } from './plan';
import { sameWord, tokens, weightedOverlap } from './text-similarity';

// The deterministic mapper: the job-code table first, then the job title against the catalog's
// titles and aliases, with the department, site and employment type to tell look-alikes apart.
// It answers when no LLM is configured and whenever the LLM fails, and says how sure it is.

/** A job code compared the way an HRIS sends it: any case, any punctuation or spacing. */
export const normaliseCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

/** Below this a title resembles nothing in the catalog well enough to name a job. */
const NO_MATCH_BELOW = 0.3;

interface Scored {
  job: JobCode;
  score: number;
  why: string[];
}

function departmentOf(org: Organisation, department: string | null | undefined) {
  if (!department) return undefined;
  const words = tokens(department);
  return org.departments.find(
    (d) => normaliseCode(d.code) === normaliseCode(department) || weightedOverlap(words, tokens(d.name), () => 1) >= 0.5,
  );
}

function siteOf(org: Organisation, site: string | null | undefined) {
  if (!site) return undefined;
  const exact = findSite(org, site);
  if (exact) return exact;
  const words = tokens(site);
  return org.sites.find((s) => words.some((w) => tokens(s.name).some((n) => sameWord(w, n) && !['plant', 'clinic', 'office'].includes(n))));
}

/** How much a word says about which job this is: rare words across the catalog say more. */
function wordWeights(org: Organisation): (word: string) => number {
  const docs = org.jobCodes.map((j) => new Set([j.title, ...j.aliases].flatMap(tokens)));
  return (word: string) => {
    if (word.startsWith('level')) return 1.5; // I/II/III separate otherwise equal titles
    const df = docs.filter((d) => [...d].some((w) => sameWord(w, word))).length;
    return 1 + Math.log((docs.length + 1) / (df + 1));
  };
}

function scoreJob(org: Organisation, job: JobCode, input: MappingInput, weight: (w: string) => number): Scored {
  // For a contractor the employment type says "contract", not the title: compare without it.
  const contractor = input.employmentType === 'contractor';
  const words = (text: string) => (contractor ? tokens(text).filter((w) => w !== 'contract') : tokens(text));
  const title = words(input.jobTitle);
  const levelled = title.some((w) => w.startsWith('level'));
  const why: string[] = [];
  let best = 0;
  let bestText = job.title;
  // An alias without a level is at the job's level: "Chemical Operator" for the level I job.
  const jobLevels = tokens(job.title).filter((w) => w.startsWith('level'));
  for (const text of [job.title, ...job.aliases]) {
    let candidate = words(text);
    if (!candidate.some((w) => w.startsWith('level'))) candidate.push(...jobLevels);
    // A title without a level says nothing about it: compare the rest.
    if (!levelled) candidate = candidate.filter((w) => !w.startsWith('level'));
    const s = weightedOverlap(title, candidate, weight);
    if (s > best) {
      best = s;
      bestText = text;
    }
  }
  if (best > 0) why.push(`title resembles "${bestText}" (${best.toFixed(2)})`);
  let score = best;

  const department = departmentOf(org, input.department);
  if (department && job.hints.departments.length) {
    if (job.hints.departments.includes(department.code)) {
      score += 0.12;
      why.push(`department ${department.code} fits`);
    } else {
      score -= 0.12;
    }
  }
  const site = siteOf(org, input.site);
  if (site && job.hints.siteKinds.length) {
    if (job.hints.siteKinds.includes(site.kind)) {
      score += 0.08;
      why.push(`${site.kind} site ${site.code} fits`);
    } else {
      score -= 0.1;
    }
  }
  const contractorJob = org.roles.find((r) => r.id === job.role)?.id === 'contractor';
  if (input.employmentType) {
    if ((input.employmentType === 'contractor') === contractorJob) {
      if (contractorJob) {
        score += 0.1;
        why.push('a contractor job for a contractor');
      }
    } else if (contractorJob || input.employmentType === 'contractor') {
      score -= 0.15;
    }
  }
  return { job, score: Math.max(0, Math.min(1, score)), why };
}

const noMatchRole = (org: Organisation) => (org.roles.find((r) => r.id === 'learner') ?? org.roles.find((r) => !r.leadership) ?? org.roles[0]!).id;

/** The organisation's job-code table (codes and their aliases, in any case or punctuation). */
export function mapByJobCodeTable(jobCode: string | null | undefined, org: Organisation): JobMappingAnswer | null {
  if (!jobCode) return null;
  const code = normaliseCode(jobCode);
  const job = org.jobCodes.find((j) => normaliseCode(j.code) === code || j.aliases.some((a) => normaliseCode(a) === code));
  if (!job) return null;
  return {
    ...mappingForJobCode(org, job.code)!,
    confidence: 0.98,
    rationale: `Job code "${jobCode}" is ${job.code} (${job.title}) in the organisation's job-code table.`,
  };
}

export function mapJobDeterministically(input: MappingInput, org: Organisation): JobMappingAnswer {
  const fromTable = mapByJobCodeTable(input.jobCode, org);
  if (fromTable) return fromTable;

  const weight = wordWeights(org);
  const ranked = org.jobCodes.map((job) => scoreJob(org, job, input, weight)).sort((a, b) => b.score - a.score || a.job.code.localeCompare(b.job.code));
  const [first, second] = ranked;
  if (!first || first.score < NO_MATCH_BELOW) {
    return {
      jobCode: null,
      role: noMatchRole(org),
      groups: [],
      curricula: [],
      // Fairly sure nothing fits, never sure enough to skip a person's look.
      confidence: Number((0.5 * (1 - (first?.score ?? 0))).toFixed(2)),
      rationale: `No job in the catalog resembles "${input.jobTitle}" closely enough${first ? ` (closest: ${first.job.code} ${first.job.title}, ${first.score.toFixed(2)})` : ''}; only site and organisation-wide training applies until a person decides.`,
    };
  }
  // Honest about ambiguity: a close runner-up lowers the confidence.
  const margin = first.score - (second?.score ?? 0);
  const confidence = Math.min(0.95, first.score * (0.55 + 0.45 * Math.min(1, margin / 0.2)));
  const runnerUp = second && margin < 0.2 ? ` Runner-up: ${second.job.code} ${second.job.title} (${second.score.toFixed(2)}).` : '';
  return {
    ...mappingForJobCode(org, first.job.code)!,
    confidence: Number(confidence.toFixed(2)),
    rationale: `"${input.jobTitle}" maps to ${first.job.code} (${first.job.title}): ${first.why.join('; ')}.${runnerUp}`,
  };
}
