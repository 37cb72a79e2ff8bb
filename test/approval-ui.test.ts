import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { isoDateOf } from '../domain/dates';
import { bambooRecord, employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';
import { startTestStack, type TestStack } from './support/stack';

// An approver's path, for real: headless Chromium (Debian's package, no browser download) opens
// the dev server's Temporal Web UI, finds the workflow awaiting approval, and sends the approval
// Signal through the UI's own "Send a Signal" dialog.

const ARTIFACTS = resolve('test-results');
let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startTestStack();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('deciding from the Temporal Web UI', () => {
  it('finds the workflow awaiting approval, approves it with the Send a Signal dialog, and the workflow proceeds', async () => {
    const person = { ...employeeProfile(0, SAMPLE_HIRES[0]!, isoDateOf(new Date()), 'UI'), jobCode: 'LEGACY-9', jobTitle: 'Operator' };
    stack.hris.upsertEmployee(bambooRecord(person));
    const event = hireEvent(person);
    expect((await stack.postEvent(event)).status).toBe(202);
    const workflowId = `onboarding-${person.id}-${event.id}`;
    await stack.pendingOn(workflowId);

    const ui = inject('temporalUiUrl');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      // The approver's view: everything awaiting a decision, by search attribute.
      const query = encodeURIComponent(`HrsyncStatus="awaiting-approval" AND EmployeeId="${person.id}"`);
      let found = false;
      for (let attempt = 0; attempt < 20 && !found; attempt++) {
        await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
        found = await page
          .getByRole('link', { name: workflowId })
          .first()
          .waitFor({ state: 'visible', timeout: 3000 })
          .then(() => true, () => false);
      }
      await page.screenshot({ path: resolve(ARTIFACTS, 'approval-queue.png'), fullPage: false });
      expect(found).toBe(true);
      await page.getByRole('link', { name: workflowId }).first().click();
      await page.getByRole('heading', { name: workflowId }).waitFor();
      await page.getByRole('tab', { name: /Memo/ }).click().catch(() => undefined);
      await page.getByText(/waits for ai-mapping approval/).first().waitFor({ timeout: 10_000 });
      await page.screenshot({ path: resolve(ARTIFACTS, 'approval-pending.png'), fullPage: false });

      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: /Send a Signal/i }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: 'Send a Signal' });
      await dialog.getByTestId('signal-select-button').click();
      await dialog.getByRole('option', { name: /^approval/ }).click();
      const editor = dialog.locator('.cm-content').first();
      await editor.click();
      await page.keyboard.insertText(JSON.stringify({ decision: 'approve', approver: 'ld.chen', reason: 'approved from the Temporal Web UI' }));
      // Leaving the editor reformats the JSON and moves the buttons: leave it before clicking Submit.
      await page.keyboard.press('Tab');
      await dialog.getByText('"approver": "ld.chen"').waitFor();
      await page.screenshot({ path: resolve(ARTIFACTS, 'approval-signal-dialog.png'), fullPage: false });
      await dialog.getByRole('button', { name: 'Submit' }).click();
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      await page.close();
    }

    const result = await stack.resultOf<{ outcome: string; approval: { approver: string } }>(workflowId);
    expect(result.outcome).toBe('applied');
    expect(result.approval.approver).toBe('ld.chen');
    expect(stack.learnersFor(person.id)[0]!.role).toBe('operator');
    const approved = (await stack.auditRows(person.id)).find((r) => r.kind === 'approval' && r.action === 'approved');
    expect(approved).toMatchObject({ result: 'ld.chen', detail: expect.objectContaining({ reason: 'approved from the Temporal Web UI' }) });
  });
});
