import type { RosterReadOptions } from '../activities/lms-roster';
import { spreadsheetCsv } from './csv';
import { lmsRoster } from '../activities/lms-vendors';
import { complianceReport, DEFINITIONS, type ComplianceReport, type ComplianceStatus, type CourseDue, type OverTimePoint } from '../domain/compliance';
import type { Organisation } from '../domain/organisation';
import type { HrsyncConfig } from '../stack/config';

// `hrsync report compliance`: reads every learner from the LMS (paged, bounded concurrency; see
// activities/lms-roster.ts), computes the report with the pure functions of domain/compliance.ts
// (the definitions are written there), and renders it as text, CSV, JSON or a self-contained
// HTML page (no external asset, an inline SVG chart, numbers tagged with data-testid).

export type ReportFormat = 'text' | 'html' | 'csv' | 'json';
export const REPORT_FORMATS: ReportFormat[] = ['text', 'html', 'csv', 'json'];

export async function readComplianceReport(
  config: Pick<HrsyncConfig, 'lms'>,
  org: Organisation,
  options: { asOf: string; dueSoonDays?: number; site?: string; weeks?: number } & Pick<RosterReadOptions, 'concurrency' | 'onProgress'>,
): Promise<ComplianceReport> {
  const reader = lmsRoster(config.lms, { concurrency: options.concurrency, onProgress: options.onProgress });
  let roster;
  try {
    roster = await reader.listLearners();
  } catch (err) {
    throw new Error(`LMS at ${config.lms.baseUrl}: ${(err as Error).message}`);
  }
  return complianceReport(org, roster, options);
}

const STATUS_LABEL: Record<ComplianceStatus, string> = { compliant: 'compliant', 'due-soon': 'due soon', overdue: 'overdue' };
const courseList = (courses: CourseDue[]) => courses.map((c) => `${c.courseId} (due ${c.dueDate}${c.recertification ? ', recertification' : ''})`).join('; ');
const percent = (share: number) => `${(share * 100).toFixed(share === 1 || share === 0 ? 0 : 1)}%`;

/** RFC 4180 CSV (CRLF, quoted where needed), a row per person. */
export function complianceCsv(report: ComplianceReport): string {
  return spreadsheetCsv(
    report.people.map((p) => ({
      site: p.site,
      role: p.role,
      employee: p.employeeId,
      name: p.name,
      status: p.status,
      since: p.since ?? '',
      overdue_courses: courseList(p.overdueCourses),
      due_soon_courses: courseList(p.dueSoonCourses),
    })),
    ['site', 'role', 'employee', 'name', 'status', 'since', 'overdue_courses', 'due_soon_courses'],
  );
}

/** The terminal view: totals per site and role, the overdue people, the weekly series. */
export function complianceText(report: ComplianceReport): string {
  const lines: string[] = [];
  const t = report.totals;
  lines.push(`Compliance report: ${report.organisation}${report.site ? `, site ${report.site}` : ''}, as of ${report.asOf} (due soon: within ${report.dueSoonDays} days)`);
  lines.push(`${t.people} people: ${t.compliant} compliant, ${t.dueSoon} due soon, ${t.overdue} overdue (${percent(t.compliantShare)} compliant)`);
  lines.push('');
  const rows = [['site', 'role', 'people', 'compliant', 'due soon', 'overdue']];
  for (const s of report.sites) {
    rows.push([s.site, '(all)', String(s.people), String(s.compliant), String(s.dueSoon), String(s.overdue)]);
    for (const r of s.roles) rows.push(['', r.role, String(r.people), String(r.compliant), String(r.dueSoon), String(r.overdue)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.push('');
  if (!report.overdue.length) lines.push('Nobody is overdue.');
  else {
    lines.push('Overdue:');
    for (const p of report.overdue) lines.push(`  ${p.employeeId.padEnd(8)} ${p.name} (${p.site}, ${p.role}), since ${p.since}: ${courseList(p.overdueCourses)}`);
    lines.push('');
    lines.push('Regulations behind the overdue courses:');
    for (const c of report.citations) lines.push(`  ${c.courseId.padEnd(9)} ${c.regulation ?? 'company policy'}: ${c.title} (${c.overduePeople} overdue)`);
  }
  lines.push('');
  lines.push('Share of people with nothing overdue, week by week:');
  for (const p of report.overTime) lines.push(`  ${p.date}  ${percent(p.share).padStart(6)}  (${p.compliant}/${p.people})`);
  return lines.join('\n');
}

const escapeHtml = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The chart of compliance over time, as inline SVG: axes, gridlines, labels, a polyline and a dot per week. */
export function complianceChartSvg(points: OverTimePoint[], size = { width: 760, height: 300 }): string {
  const m = { left: 56, right: 24, top: 20, bottom: 56 };
  const w = size.width - m.left - m.right;
  const h = size.height - m.top - m.bottom;
  const x = (i: number) => m.left + (points.length > 1 ? (i * w) / (points.length - 1) : w / 2);
  const y = (share: number) => m.top + (1 - share) * h;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" data-testid="compliance-chart" viewBox="0 0 ${size.width} ${size.height}" width="${size.width}" height="${size.height}" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">Share of people with nothing overdue, week by week</title>`,
  );
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line class="grid" x1="${m.left}" x2="${m.left + w}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${m.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick * 100}%</text>`);
  }
  parts.push(`<line class="axis" data-testid="chart-y-axis" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}"/>`);
  parts.push(`<line class="axis" data-testid="chart-x-axis" x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}"/>`);
  points.forEach((p, i) => {
    parts.push(`<line class="axis" x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${m.top + h}" y2="${m.top + h + 5}"/>`);
    parts.push(`<text class="tick" x="${x(i).toFixed(1)}" y="${m.top + h + 18}" text-anchor="middle">${escapeHtml(p.date.slice(5))}</text>`);
  });
  const year = points.length ? [...new Set([points[0]!.date.slice(0, 4), points.at(-1)!.date.slice(0, 4)])].join('–') : '';
  parts.push(`<text class="label" x="${m.left + w / 2}" y="${size.height - 10}" text-anchor="middle">week ending (${escapeHtml(year)})</text>`);
  parts.push(`<text class="label" transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">nothing overdue</text>`);
  const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p.share).toFixed(1)}`).join(' ');
  parts.push(`<polyline data-testid="chart-line" fill="none" points="${coords}"/>`);
  points.forEach((p, i) => {
    parts.push(
      `<circle data-testid="chart-point" data-date="${p.date}" data-share="${p.share}" data-people="${p.people}" data-compliant="${p.compliant}" cx="${x(i).toFixed(1)}" cy="${y(p.share).toFixed(1)}" r="4"><title>${p.date}: ${percent(p.share)} (${p.compliant} of ${p.people})</title></circle>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const STYLE = `
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d6dae3; padding-bottom: 4px; }
  .meta { color: #5a6272; margin: 0 0 16px; }
  .totals { display: flex; gap: 12px; flex-wrap: wrap; }
  .total { border: 1px solid #d6dae3; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
  .total .n { font-size: 26px; font-weight: 600; display: block; } .total .l { color: #5a6272; }
  .total.overdue .n { color: #b3261e; } .total.due-soon .n { color: #9a6700; } .total.compliant .n { color: #1a7f37; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
  th { background: #f4f6f9; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.site-row td { font-weight: 600; background: #fafbfc; }
  .status-overdue { color: #b3261e; font-weight: 600; } .status-due-soon { color: #9a6700; } .status-compliant { color: #1a7f37; }
  svg .grid { stroke: #e6e9ef; } svg .axis { stroke: #1d2330; } svg polyline { stroke: #2f6fde; stroke-width: 2.5; }
  svg circle { fill: #2f6fde; } svg .tick { font-size: 11px; fill: #5a6272; } svg .label { font-size: 12px; fill: #1d2330; }
  dl.defs dt { font-weight: 600; } dl.defs dd { margin: 0 0 6px 16px; color: #3a4150; }
  .citation .reg { font-weight: 600; }
`;

/** A self-contained HTML page: no script, no stylesheet, font or image from anywhere else. */
export function complianceHtml(report: ComplianceReport): string {
  const t = report.totals;
  const title = `Training compliance: ${report.organisation}${report.site ? `, site ${report.site}` : ''}, as of ${report.asOf}`;
  const total = (id: string, cls: string, n: number | string, label: string) =>
    `<div class="total ${cls}"><span class="n" data-testid="${id}">${escapeHtml(n)}</span><span class="l">${escapeHtml(label)}</span></div>`;
  const cell = (testid: string, attrs: Record<string, string>, n: number) =>
    `<td class="num" data-testid="${testid}" ${Object.entries(attrs).map(([k, v]) => `data-${k}="${escapeHtml(v)}"`).join(' ')}>${n}</td>`;
  const statusCells = (testid: string, attrs: Record<string, string>, c: { people: number; compliant: number; dueSoon: number; overdue: number; compliantShare: number }) =>
    [
      cell(testid, { ...attrs, status: 'people' }, c.people),
      cell(testid, { ...attrs, status: 'compliant' }, c.compliant),
      cell(testid, { ...attrs, status: 'due-soon' }, c.dueSoon),
      cell(testid, { ...attrs, status: 'overdue' }, c.overdue),
      `<td class="num">${percent(c.compliantShare)}</td>`,
    ].join('');
  const siteRows = report.sites
    .map((s) =>
      [
        `<tr class="site-row"><td>${escapeHtml(s.site)} · ${escapeHtml(s.siteName)}</td><td>all roles</td>${statusCells('site-count', { site: s.site }, s)}</tr>`,
        ...s.roles.map((r) => `<tr><td></td><td>${escapeHtml(r.roleTitle)} <small>(${escapeHtml(r.role)})</small></td>${statusCells('count', { site: s.site, role: r.role }, r)}</tr>`),
      ].join('\n'),
    )
    .join('\n');
  const courseCells = (courses: CourseDue[]) =>
    courses.map((c) => `<span data-course="${escapeHtml(c.courseId)}">${escapeHtml(c.courseId)} <small>(${escapeHtml(c.title)}; due ${c.dueDate}${c.recertification ? ', recertification' : ''})</small></span>`).join('<br>');
  const overdueRows = report.overdue
    .map(
      (p) =>
        `<tr data-testid="overdue-person" data-employee="${escapeHtml(p.employeeId)}" data-site="${escapeHtml(p.site)}" data-role="${escapeHtml(p.role)}" data-since="${escapeHtml(p.since ?? '')}"><td>${escapeHtml(p.employeeId)}</td><td>${escapeHtml(p.name)}</td><td>${escapeHtml(p.site)}</td><td>${escapeHtml(p.roleTitle)}</td><td>${escapeHtml(p.since ?? '')}</td><td>${courseCells(p.overdueCourses)}</td></tr>`,
    )
    .join('\n');
  const citations = report.citations
    .map(
      (c) =>
        `<li class="citation" data-testid="citation" data-course="${escapeHtml(c.courseId)}" data-people="${c.overduePeople}"><span class="reg">${escapeHtml(c.regulation ?? 'Company policy (no regulation cited)')}</span>: ${escapeHtml(c.courseId)} ${escapeHtml(c.title)}, ${c.overduePeople} ${c.overduePeople === 1 ? 'person' : 'people'} overdue${c.requirement ? `<br><small>${escapeHtml(c.requirement)}</small>` : ''}</li>`,
    )
    .join('\n');
  const peopleRows = report.people
    .map(
      (p) =>
        `<tr data-testid="person" data-employee="${escapeHtml(p.employeeId)}" data-status="${p.status}"><td>${escapeHtml(p.site)}</td><td>${escapeHtml(p.role)}</td><td>${escapeHtml(p.employeeId)}</td><td>${escapeHtml(p.name)}</td><td class="status-${p.status}">${STATUS_LABEL[p.status]}</td><td>${escapeHtml(p.since ?? '')}</td><td class="num">${p.met}/${p.required}</td></tr>`,
    )
    .join('\n');
  // The report itself, for machines: JSON that cannot close the script element.
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body data-as-of="${report.asOf}" data-due-soon-days="${report.dueSoonDays}">
<h1>${escapeHtml(title)}</h1>
<p class="meta">Due soon means due within ${report.dueSoonDays} days of ${report.asOf}. Read from the LMS by hrsync; definitions at the end of the page.</p>

<section class="totals" aria-label="Totals">
${total('total-people', 'people', t.people, 'people')}
${total('total-compliant', 'compliant', t.compliant, 'compliant')}
${total('total-due-soon', 'due-soon', t.dueSoon, 'due soon')}
${total('total-overdue', 'overdue', t.overdue, 'overdue')}
${total('total-share', 'share', percent(t.compliantShare), 'compliant share')}
</section>

<h2>By site and role</h2>
<table data-testid="site-role-table">
<thead><tr><th>site</th><th>role</th><th class="num">people</th><th class="num">compliant</th><th class="num">due soon</th><th class="num">overdue</th><th class="num">compliant share</th></tr></thead>
<tbody>
${siteRows || '<tr><td colspan="7">Nobody in the report.</td></tr>'}
</tbody>
</table>

<h2>Overdue (${report.overdue.length})</h2>
${
  report.overdue.length
    ? `<table data-testid="overdue-table">
<thead><tr><th>employee</th><th>name</th><th>site</th><th>role</th><th>overdue since</th><th>overdue courses</th></tr></thead>
<tbody>
${overdueRows}
</tbody>
</table>`
    : '<p data-testid="nobody-overdue">Nobody is overdue.</p>'
}

<h2>Regulations behind the overdue courses</h2>
${citations ? `<ul data-testid="citations">\n${citations}\n</ul>` : '<p>None: nothing is overdue.</p>'}

<h2>Compliance over time</h2>
<p class="meta">Share of people with nothing overdue at the end of each week (${report.overTime.length} week${report.overTime.length === 1 ? '' : 's'}).</p>
${complianceChartSvg(report.overTime)}

<h2>Everyone (${report.people.length})</h2>
<table data-testid="people-table">
<thead><tr><th>site</th><th>role</th><th>employee</th><th>name</th><th>status</th><th>since</th><th class="num">met / required</th></tr></thead>
<tbody>
${peopleRows}
</tbody>
</table>

<h2>Definitions</h2>
<dl class="defs">
${Object.entries(DEFINITIONS)
  .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
  .join('\n')}
</dl>
<script type="application/json" id="compliance-report-data">${data}</script>
</body>
</html>
`;
}

export function renderComplianceReport(report: ComplianceReport, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return complianceCsv(report);
    case 'html':
      return complianceHtml(report);
    case 'text':
      return `${complianceText(report)}\n`;
  }
}
