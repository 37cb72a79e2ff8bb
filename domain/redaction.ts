import type { MappingInput } from './ai';

// The PII guard: nothing that identifies a person leaves the process in a prompt. A mapping sees
// job attributes only, and even those are scrubbed of anything that looks like a person's
// details (HR systems put surprising things in job titles: "Asst. to J. Smith", "temp cover for
// E1001, call 555-0100").

export interface KnownPerson {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  id?: string | null;
}

const PATTERNS: [RegExp, string][] = [
  [/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '[email]'],
  [/\bhttps?:\/\/\S+/gi, '[url]'],
  // national ids: US SSN, UK NI number
  [/\b\d{3}-\d{2}-\d{4}\b/g, '[national-id]'],
  [/\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b/gi, '[national-id]'],
  // phone numbers: +1 (555) 010-0100, 555.010.0100, 0161 496 0000 …
  [/(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{3,4}[\s.-]\d{3,4}(?:[\s.-]\d{2,4})?\b/g, '[phone]'],
  // employee-style ids: E1001, EMP-00042, #12345, long digit runs
  [/\b(?:emp|ee|id)[\s#:-]*\d{3,}\b/gi, '[id]'],
  [/\b[A-Z]{1,3}-?\d{4,}\b/g, '[id]'],
  [/#\s?\d{3,}\b/g, '[id]'],
  [/\b\d{5,}\b/g, '[id]'],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Scrubs one piece of free text: the known person's names and ids, then anything shaped like PII. */
export function redactText(text: string, person: KnownPerson = {}): string {
  let out = text;
  for (const value of [person.email, person.id]) {
    if (value && value.trim().length >= 2) out = out.replace(new RegExp(escape(value.trim()), 'gi'), value === person.email ? '[email]' : '[id]');
  }
  for (const name of [person.firstName, person.lastName]) {
    if (name && name.trim().length >= 2) out = out.replace(new RegExp(`\\b${escape(name.trim())}\\b`, 'gi'), '[name]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out.replace(/\s{2,}/g, ' ').trim();
}

/**
 * The mapping input as it may be sent to an LLM: the five job attributes only, each scrubbed.
 * A job code that looks like a person's id is dropped rather than guessed about.
 */
export function redactMappingInput(input: MappingInput, person: KnownPerson = {}): MappingInput {
  const scrub = (v: string | null | undefined) => (v === undefined || v === null ? null : redactText(v, person) || null);
  const jobCode = scrub(input.jobCode);
  return {
    jobTitle: scrub(input.jobTitle) ?? '[redacted]',
    jobCode: jobCode && !jobCode.includes('[') ? jobCode : null,
    department: scrub(input.department),
    site: scrub(input.site),
    employmentType: input.employmentType ?? null,
  };
}
