import { randomBytes } from 'node:crypto';
import { DEFAULT_PORTS, lmsVendor } from '../stack/config';
import { startAbsorbSimulator } from './absorb';
import { loadOrganisation } from '../domain/load-organisation';
import { startHrisSimulator } from './hris';
import { startLlmSimulator } from './llm';
import { startLmsSimulator } from './lms';
import { bambooRecord, sampleRoster } from './roster';

/** The vendor simulators as a standalone process, seeded with the sample organisation and roster. */
export async function runSimulators(): Promise<void> {
  const org = loadOrganisation();
  const apiKey = process.env.HRIS_API_KEY || randomBytes(12).toString('hex');
  const clientSecret = process.env.LMS_CLIENT_SECRET || randomBytes(16).toString('hex');
  const hris = await startHrisSimulator({ port: Number(process.env.HRIS_SIMULATOR_PORT ?? DEFAULT_PORTS.hris), apiKey, company: process.env.HRIS_COMPANY });
  for (const person of sampleRoster()) hris.upsertEmployee(bambooRecord(person));
  const lmsPort = Number(process.env.LMS_SIMULATOR_PORT ?? DEFAULT_PORTS.lms);
  // The LMS of LMS_VENDOR: Docebo-style (default) or Absorb-style.
  const absorb = lmsVendor(process.env.LMS_VENDOR) === 'absorb';
  const lms = absorb
    ? await startAbsorbSimulator({ port: lmsPort, username: process.env.LMS_USERNAME || undefined, password: process.env.LMS_PASSWORD || clientSecret, privateKey: process.env.LMS_API_KEY || undefined, courses: org.courses, branches: org.branches })
    : await startLmsSimulator({ port: lmsPort, clientId: process.env.LMS_CLIENT_ID, clientSecret, courses: org.courses, branches: org.branches });
  const llm = await startLlmSimulator({ port: Number(process.env.LLM_SIMULATOR_PORT ?? DEFAULT_PORTS.llm), apiKey: process.env.OPENAI_API_KEY || undefined });
  process.stdout.write(`HRIS simulator ${hris.url} (company ${hris.company})\nLMS simulator  ${lms.url} (${absorb ? 'Absorb' : 'Docebo'}-style)\nLLM simulator  ${llm.url}/v1 (OPENAI_BASE_URL; any OPENAI_API_KEY unless one is set)\n`);
  if (!process.env.HRIS_API_KEY) process.stdout.write(`HRIS_API_KEY=${apiKey}\n`);
  if (absorb && !process.env.LMS_PASSWORD) process.stdout.write(`LMS_PASSWORD=${clientSecret}\n`);
  if (!absorb && !process.env.LMS_CLIENT_SECRET) process.stdout.write(`LMS_CLIENT_SECRET=${clientSecret}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await hris.close();
  await lms.close();
  await llm.close();
}
