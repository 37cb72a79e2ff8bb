import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';

/**
 * The result of a workflow that may not have started yet (an event's child workflow starts when
 * the entity workflow gets to it): waits for it to exist, then for it to close.
 */
export async function resultWhenStarted<T = unknown>(client: Client, workflowId: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await client.workflow.getHandle(workflowId).result()) as T;
    } catch (err) {
      const notYet = err instanceof WorkflowNotFoundError || (!(err instanceof WorkflowFailedError) && /not found/i.test((err as Error).message));
      if (!notYet) throw err;
      if (Date.now() > deadline) throw new Error(`workflow ${workflowId} did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
