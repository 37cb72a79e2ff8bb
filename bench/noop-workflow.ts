// The engine ceiling's yardstick: a workflow that does nothing, so what is measured is Temporal
// (start, one workflow task, completion) on this machine, not hrsync.
export async function noop(): Promise<void> {}
