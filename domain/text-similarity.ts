// Lexical similarity for messy HR text: abbreviations expanded, seniority levels made explicit,
// small typos forgiven. Pure and deterministic; used by the deterministic job mapper and the
// skills normaliser.

const ABBREVIATIONS: Record<string, string[]> = {
  sr: ['senior'],
  snr: ['senior'],
  jr: ['junior'],
  tech: ['technician'],
  techn: ['technician'],
  techs: ['technician'],
  tec: ['technician'],
  op: ['operator'],
  ops: ['operations'],
  opr: ['operator'],
  oper: ['operator'],
  operatr: ['operator'],
  maint: ['maintenance'],
  mnt: ['maintenance'],
  mntc: ['maintenance'],
  mech: ['mechanic'],
  supv: ['supervisor'],
  supvr: ['supervisor'],
  supvsr: ['supervisor'],
  sup: ['supervisor'],
  super: ['supervisor'],
  spvr: ['supervisor'],
  mgr: ['manager'],
  mngr: ['manager'],
  asst: ['assistant'],
  ast: ['assistant'],
  assist: ['assistant'],
  admin: ['administrative'],
  adm: ['administrative'],
  spec: ['specialist'],
  spclst: ['specialist'],
  specl: ['specialist'],
  coord: ['coordinator'],
  rn: ['registered', 'nurse'],
  lpn: ['nurse'],
  ma: ['medical', 'assistant'],
  cma: ['medical', 'assistant'],
  hr: ['human', 'resources'],
  ehs: ['environment', 'health', 'safety'],
  hse: ['environment', 'health', 'safety'],
  hs: ['health', 'safety'],
  fin: ['financial'],
  finance: ['financial'],
  anl: ['analyst'],
  anlst: ['analyst'],
  chem: ['chemical'],
  proc: ['process'],
  prod: ['production'],
  mfg: ['manufacturing'],
  whse: ['warehouse'],
  wh: ['warehouse'],
  lift: ['forklift'],
  fork: ['forklift'],
  pit: ['forklift'],
  eng: ['engineer'],
  engr: ['engineer'],
  ctr: ['contract'],
  contractor: ['contract'],
  plt: ['plant'],
  drvr: ['driver'],
  ms: ['microsoft'],
  drv: ['driver'],
  mat: ['material'],
  matl: ['material'],
  hndlr: ['handler'],
  acct: ['accountant'],
  recpt: ['receptionist'],
  instr: ['instrument'],
  elec: ['electrician'],
  dept: [],
  department: [],
};

const LEVELS: Record<string, string> = {
  i: 'level1',
  '1': 'level1',
  ii: 'level2',
  '2': 'level2',
  iii: 'level3',
  '3': 'level3',
  iv: 'level4',
  '4': 'level4',
};

/** Words that say when or where someone works, not what the job is. */
const NOISE = new Set([
  'a', 'an', 'and', 'the', 'of', 'for', 'to', 'in', 'at', 'on', 'with', 'night', 'nights', 'day', 'days',
  'weekend', 'weekends', 'rotating', 'rotation', 'b', 'c', 'd', 'crew', 'team', 'ft', 'pt', 'full', 'part', 'time', 'temp',
  'temporary', 'interim', 'acting', 'floater', 'float', 'prn', 'per', 'diem', 'area', 'site', 'grade',
  'level', 'lvl', 'x', 'w', 'hourly', 'salaried', 'nonexempt', 'exempt',
]);

/** Lower-case words with abbreviations expanded and levels (I, II, 3) as `levelN`; noise dropped. */
export function tokens(text: string): string[] {
  const words = text
    .toLowerCase()
    .replace(/&/g, ' and ')
    // when someone works is not what the job is: "B shift", "nights", "rotating shift"
    .replace(/\b(?:[a-d]|night|nights|day|days|rotating|swing|weekend|graveyard)[\s-]*shifts?\b/g, ' ')
    .replace(/([a-z])\.([a-z])/g, '$1 $2')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/\b([a-z]+)(\d)\b/g, '$1 $2')
    .split(' ')
    .filter(Boolean);
  const out: string[] = [];
  for (const w of words) {
    if (LEVELS[w]) out.push(LEVELS[w]!);
    else if (ABBREVIATIONS[w]) out.push(...ABBREVIATIONS[w]!);
    else if (!NOISE.has(w) && !/^\d+$/.test(w)) out.push(w.length > 4 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

/** Edit distance, capped: enough to forgive "Maintenence" and "Techncian". */
export function editDistance(a: string, b: string, cap = 3): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]!);
    }
    if (best > cap) return cap + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** Two words are the same word, allowing one typo in five letters and two in nine. */
export function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.startsWith('level') || b.startsWith('level')) return false;
  const n = Math.min(a.length, b.length);
  if (n < 5) return false;
  return editDistance(a, b, 2) <= (n >= 9 ? 2 : 1);
}

/**
 * Weighted overlap of two token lists in [0, 1]: the weight of the words they share over the
 * weight of all their words (each side counted once). Rare words weigh more.
 */
export function weightedOverlap(a: string[], b: string[], weight: (word: string) => number): number {
  const A = [...new Set(a)];
  const B = [...new Set(b)];
  if (!A.length || !B.length) return 0;
  let shared = 0;
  const matchedB = new Set<string>();
  for (const w of A) {
    const hit = B.find((x) => !matchedB.has(x) && sameWord(w, x));
    if (hit) {
      matchedB.add(hit);
      shared += (weight(w) + weight(hit)) / 2;
    }
  }
  const total = A.reduce((s, w) => s + weight(w), 0) + B.filter((x) => !matchedB.has(x)).reduce((s, w) => s + weight(w), 0);
  return total ? shared / total : 0;
}
