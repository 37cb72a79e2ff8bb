import { spreadsheetCsv } from './csv';
import type pg from 'pg';
import { describePlan } from '../domain/approval';
import type { PlanStep } from '../domain/lms-state';

// `hrsync audit EMPLOYEE`: everything hrsync recorded about one person, in the order it was
// recorded (audit_log id): the events delivered, the AI decisions with their rationale, the
// plans, the approvals asked for and given, every LMS step and each workflow's outcome. Each
// entry names the workflow id and run id that wrote it; entries about an event also name the
// workflow run that handled the event (`handledBy`: a delivery is written by the bridge before
// any run exists) and the raw vendor deliveries the event came from (`raw_deliveries`).
// AI decisions for the person that no audit row names (a `hrsync plan` dry run asks the mapper
// too) are placed among the audit rows by time.

export interface AiDecisionView {
  id: number;
  kind: string;
  mapper: string;
  model: string | null;
  confidence: number | null;
  fallbackReason: string | null;
  cached: boolean;
  latencyMs: number;
  /** What the mapper was asked, redacted as it was sent. */
  input: unknown;
  /** What it answered, parsed. */
  answer: unknown;
}

export interface AuditTrailEntry {
  /** The audit_log id; null for an AI decision no audit row names. */
  id: number | null;
  at: string;
  kind: string;
  action: string;
  result: string;
  eventId: string | null;
  /** The HR event's type and where it came from (hr_events), when the entry is about an event. */
  eventType: string | null;
  source: string | null;
  workflowId: string | null;
  runId: string | null;
  /** The workflow run that handled the entry's event (the child workflow of the employee workflow). */
  handledBy: { workflowId: string; runId: string } | null;
  /** raw_deliveries ids the entry's event came from (vendor webhooks, SCIM, SFTP files); empty for POST /events. */
  rawDeliveryIds: number[];
  /** One line for people. */
  summary: string;
  /** The AI mapper's rationale, for decisions. */
  rationale: string | null;
  aiDecision: AiDecisionView | null;
  step: unknown;
  detail: unknown;
}

export interface AuditTrail {
  employeeId: string;
  entries: AuditTrailEntry[];
}

export class UnknownEmployeeError extends Error {}

type Row = Record<string, unknown>;
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function aiView(r: Row): AiDecisionView {
  return {
    id: Number(r.id),
    kind: String(r.kind),
    mapper: String(r.mapper),
    model: (r.model as string | null) ?? null,
    confidence: r.confidence === null || r.confidence === undefined ? null : Number(r.confidence),
    fallbackReason: (r.fallback_reason as string | null) ?? null,
    cached: !!r.cached,
    latencyMs: Number(r.latency_ms),
    input: r.redacted_input ?? null,
    answer: r.parsed ?? null,
  };
}

function summarise(e: Omit<AuditTrailEntry, 'summary'>): string {
  const d = obj(e.detail);
  switch (e.kind) {
    case 'delivery':
      return `${e.action} event ${e.eventId ?? '?'}: ${e.result}${e.source ? ` (from ${e.source})` : ''}${e.rawDeliveryIds.length ? `, raw deliveries ${e.rawDeliveryIds.join(', ')}` : ''}`;
    case 'plan': {
      const steps = Array.isArray(d.steps) ? (d.steps as string[]) : [];
      return `plan as of ${d.asOf ?? '?'}: ${e.result}${steps.length ? ` (${steps.slice(0, 6).join(', ')}${steps.length > 6 ? ', …' : ''})` : ''}`;
    }
    case 'step': {
      const step = e.step as PlanStep | undefined;
      const what = step?.action ? describePlan([step])[0] : e.action;
      return `${what}: ${e.result}${d.error ? ` (${d.error})` : ''}`;
    }
    case 'decision': {
      const ai = e.aiDecision;
      const answer = obj(ai?.answer);
      const jobCode = d.jobCode ?? answer.jobCode;
      const role = d.role ?? answer.role;
      const confidence = d.confidence ?? ai?.confidence;
      return `${e.action.replace(/-/g, ' ')} by the ${d.mapper ?? ai?.mapper ?? '?'} mapper: ${jobCode ?? 'no catalog job'}${role ? ` (role ${role})` : ''}${typeof confidence === 'number' ? `, confidence ${confidence.toFixed(2)}` : ''} → ${e.result}`;
    }
    case 'approval':
      switch (e.action) {
        case 'requested':
          return `${e.result} approval requested from ${(d.approvers as string[] | undefined)?.join(', ') ?? '?'}${Array.isArray(d.reasons) ? `: ${(d.reasons as string[]).join('; ')}` : ''}`;
        case 'approved':
        case 'rejected':
          return `${e.action} by ${e.result}${d.automatic ? ' (automatically)' : ''}${d.reason ? `: ${d.reason}` : ''}`;
        case 'decision-refused':
          return `decision refused: ${d.problem ?? e.result}`;
        default:
          return `${e.action}: ${e.result}`;
      }
    case 'outcome':
      return `${e.action} ${e.result}${d.reason ? `: ${d.reason}` : ''}`;
    default:
      return `${e.action}: ${e.result}${d.problem ? ` (${d.problem})` : ''}`;
  }
}

/** The person's whole trail; UnknownEmployeeError when hrsync has recorded nothing about them. */
export async function auditTrail(pool: pg.Pool, employeeId: string): Promise<AuditTrail> {
  const [audit, decisions, events] = await Promise.all([
    pool.query(`SELECT * FROM audit_log WHERE employee_id = $1 ORDER BY id`, [employeeId]),
    pool.query(`SELECT * FROM ai_decisions WHERE employee_id = $1 ORDER BY id`, [employeeId]),
    pool.query(`SELECT event_id, type, source, workflow_id, received_at, deliveries FROM hr_events WHERE employee_id = $1`, [employeeId]),
  ]);
  if (!audit.rowCount && !decisions.rowCount && !events.rowCount) {
    throw new UnknownEmployeeError(`employee ${employeeId} has no audit trail: hrsync has recorded no event, decision or action about them`);
  }
  const eventIds = [...new Set([...events.rows.map((r) => String(r.event_id)), ...audit.rows.filter((r) => r.event_id).map((r) => String(r.event_id))])];
  const deliveries = eventIds.length
    ? await pool.query(`SELECT id, event_ids FROM raw_deliveries WHERE event_ids && $1::text[] ORDER BY id`, [eventIds])
    : { rows: [] as Row[] };

  const eventInfo = new Map(events.rows.map((r) => [String(r.event_id), { type: String(r.type), source: String(r.source) }]));
  const rawFor = new Map<string, number[]>();
  for (const d of deliveries.rows) for (const id of d.event_ids as string[]) rawFor.set(id, [...(rawFor.get(id) ?? []), Number(d.id)]);
  // The run that handled an event: the first audit row about it written by a run other than the
  // employee workflow's own (which queues the event and starts that run).
  const handledBy = new Map<string, { workflowId: string; runId: string }>();
  for (const r of audit.rows) {
    if (r.event_id && r.run_id && r.workflow_id && !String(r.workflow_id).startsWith('employee-') && !handledBy.has(String(r.event_id))) {
      handledBy.set(String(r.event_id), { workflowId: String(r.workflow_id), runId: String(r.run_id) });
    }
  }
  const decisionById = new Map(decisions.rows.map((r) => [Number(r.id), r]));
  const named = new Set<number>();

  const entry = (e: Omit<AuditTrailEntry, 'summary' | 'eventType' | 'source' | 'handledBy' | 'rawDeliveryIds'>): AuditTrailEntry => {
    const info = e.eventId ? eventInfo.get(e.eventId) : undefined;
    const full = {
      ...e,
      eventType: info?.type ?? null,
      source: info?.source ?? null,
      handledBy: (e.eventId && handledBy.get(e.eventId)) || null,
      rawDeliveryIds: (e.eventId && rawFor.get(e.eventId)) || [],
    };
    return { ...full, summary: summarise(full) };
  };

  const entries: AuditTrailEntry[] = audit.rows.map((r) => {
    const detail = r.detail ?? null;
    const decisionId = r.kind === 'decision' ? Number(obj(detail).decisionId) : NaN;
    const ai = Number.isFinite(decisionId) && decisionById.has(decisionId) ? aiView(decisionById.get(decisionId)!) : null;
    if (ai) named.add(ai.id);
    const rationale = r.kind === 'decision' ? ((obj(detail).rationale as string | undefined) ?? (obj(ai?.answer).rationale as string | undefined) ?? null) : null;
    return entry({
      id: Number(r.id),
      at: iso(r.recorded_at),
      kind: String(r.kind),
      action: String(r.action),
      result: String(r.result),
      eventId: (r.event_id as string | null) ?? null,
      workflowId: (r.workflow_id as string | null) ?? null,
      runId: (r.run_id as string | null) ?? null,
      rationale,
      aiDecision: ai,
      step: r.step ?? null,
      detail,
    });
  });

  // AI decisions no audit row names, placed by time (before the first row recorded after them).
  for (const r of decisions.rows) {
    if (named.has(Number(r.id))) continue;
    const ai = aiView(r);
    const at = iso(r.created_at);
    const answer = obj(ai.answer);
    const orphan = entry({
      id: null,
      at,
      kind: 'decision',
      action: ai.kind,
      result: 'not-acted-on',
      eventId: null,
      workflowId: (r.workflow_id as string | null) ?? null,
      runId: null,
      rationale: (answer.rationale as string | undefined) ?? null,
      aiDecision: ai,
      step: null,
      detail: { decisionId: ai.id, note: 'no workflow acted on this decision (asked by `hrsync plan` or `hrsync map`)' },
    });
    const index = entries.findIndex((e) => e.at > at);
    entries.splice(index === -1 ? entries.length : index, 0, orphan);
  }
  return { employeeId, entries };
}

export const AUDIT_CSV_COLUMNS = [
  'id', 'at', 'kind', 'action', 'result', 'event_id', 'event_type', 'source', 'workflow_id', 'run_id',
  'handled_by_workflow_id', 'handled_by_run_id', 'raw_delivery_ids', 'summary', 'rationale', 'ai_decision_id', 'step', 'detail',
] as const;

/** One CSV record per entry; `step` and `detail` as JSON, raw delivery ids separated by spaces. */
export function auditCsvRecord(e: AuditTrailEntry): Record<(typeof AUDIT_CSV_COLUMNS)[number], string> {
  return {
    id: e.id === null ? '' : String(e.id),
    at: e.at,
    kind: e.kind,
    action: e.action,
    result: e.result,
    event_id: e.eventId ?? '',
    event_type: e.eventType ?? '',
    source: e.source ?? '',
    workflow_id: e.workflowId ?? '',
    run_id: e.runId ?? '',
    handled_by_workflow_id: e.handledBy?.workflowId ?? '',
    handled_by_run_id: e.handledBy?.runId ?? '',
    raw_delivery_ids: e.rawDeliveryIds.join(' '),
    summary: e.summary,
    rationale: e.rationale ?? '',
    ai_decision_id: e.aiDecision ? String(e.aiDecision.id) : '',
    step: e.step === null || e.step === undefined ? '' : JSON.stringify(e.step),
    detail: e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail),
  };
}

/** RFC 4180: a header, CRLF line ends, fields quoted where they need it. */
export function auditCsv(trail: AuditTrail): string {
  return spreadsheetCsv(trail.entries.map(auditCsvRecord), AUDIT_CSV_COLUMNS);
}

/** The timeline for people: a heading for each workflow run, then its entries. */
export function auditTimeline(trail: AuditTrail): string {
  const lines: string[] = [];
  const events = new Set(trail.entries.filter((e) => e.eventId).map((e) => e.eventId));
  const runs = new Set(trail.entries.filter((e) => e.runId).map((e) => `${e.workflowId} ${e.runId}`));
  lines.push(`Audit trail of ${trail.employeeId}: ${trail.entries.length} entries, ${events.size} events, ${runs.size} workflow runs`);
  let current = '';
  for (const e of trail.entries) {
    const run = `${e.workflowId ?? '-'} ${e.runId ?? ''}`;
    if (run !== current) {
      current = run;
      lines.push('');
      lines.push(e.workflowId ? `── ${e.workflowId}${e.runId ? `  run ${e.runId}` : ''}` : '── (no workflow)');
    }
    const when = e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    lines.push(`${when}  ${`#${e.id ?? '-'}`.padEnd(7)} ${e.kind.padEnd(12)} ${e.summary}`);
    if (e.kind === 'delivery' && e.handledBy) lines.push(`${' '.repeat(when.length + 10)}${' '.repeat(12)} handled by ${e.handledBy.workflowId}  run ${e.handledBy.runId}`);
    if (e.rationale) lines.push(`${' '.repeat(when.length + 10)}${' '.repeat(12)} rationale: ${e.rationale}`);
    if (e.aiDecision?.fallbackReason) lines.push(`${' '.repeat(when.length + 10)}${' '.repeat(12)} why not the LLM: ${e.aiDecision.fallbackReason}`);
  }
  return lines.join('\n');
}
