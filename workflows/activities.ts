import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

// How workflows call the world. Vendors say how long to wait with Retry-After (used as the next
// retry delay); without one, back off to at most 10 s so a short outage costs seconds, not
// minutes, of HR-to-LMS delay.
export const retry: ActivityOptions['retry'] = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' };

export const activities = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry });
