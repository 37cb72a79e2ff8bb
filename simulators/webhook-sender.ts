// How the simulated vendors deliver webhooks, like the real ones: a POST per event, signed
// afresh on every attempt, retried on a 5xx or no answer (never on a 4xx), a few times.

export type Delivery = { attempts: number; status: number | null };

export function webhookSender<D extends Delivery>() {
  const deliveries: D[] = [];
  const inFlight = new Set<Promise<void>>();
  return {
    send(delivery: D, url: string, body: string, signedHeaders: () => Record<string, string>) {
      deliveries.push(delivery);
      const attempt = async () => {
        for (let n = 1; n <= 5; n++) {
          delivery.attempts = n;
          try {
            const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders() }, body });
            delivery.status = res.status;
            if (res.status < 500) return;
          } catch {
            delivery.status = null;
          }
          await new Promise((r) => setTimeout(r, 200 * n));
        }
      };
      const p = attempt().finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    deliveries: () => deliveries.map((d) => ({ ...d })),
    /** Waits for the deliveries still retrying. */
    idle: async () => void (await Promise.all([...inFlight])),
  };
}
