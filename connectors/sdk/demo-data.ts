// One deterministic population of demo people shared by every emulator's seed, so the same person
// (same e-mail) can exist in several providers, as in a real company's stack.
import { seededRandom } from './emulator.ts';

export interface DemoPerson {
  index: number;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  company: string;
  jobTitle: string;
  address: { line1: string; city: string; region: string; postalCode: string; country: string };
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Dennis',
  'Radia',
  'Tim',
  'Sophie',
  'Linus',
  'Hedy',
  'John',
  'Katherine',
  'Guido',
  'Anita',
  'Bjarne',
  'Yukihiro',
  'Annie',
  'Niklaus',
  'Shafi',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Ritchie',
  'Perlman',
  'Berners-Lee',
  'Wilson',
  'Torvalds',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'van Rossum',
  'Borg',
  'Stroustrup',
  'Matsumoto',
  'Easley',
  'Wirth',
  'Goldwasser',
];
const COMPANIES = ['Acme Corp', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Soylent', 'Tyrell', 'Cyberdyne'];
const TITLES = ['CEO', 'CTO', 'Head of Finance', 'Engineer', 'Buyer', 'Operations Manager', 'Accountant', 'Founder'];
const CITIES: Array<[string, string, string, string]> = [
  ['Berlin', 'BE', '10115', 'DE'],
  ['London', 'ENG', 'EC1A 1BB', 'GB'],
  ['New York', 'NY', '10001', 'US'],
  ['San Francisco', 'CA', '94105', 'US'],
  ['Paris', 'IDF', '75001', 'FR'],
  ['Tokyo', '13', '100-0001', 'JP'],
  ['Toronto', 'ON', 'M5H 2N2', 'CA'],
  ['Amsterdam', 'NH', '1012 JS', 'NL'],
];

export function demoPeople(count: number, seed = 42): DemoPerson[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const people: DemoPerson[] = [];
  for (let i = 0; i < count; i++) {
    const firstName = pick(FIRST);
    const lastName = pick(LAST);
    const company = pick(COMPANIES);
    const [city, region, postalCode, country] = pick(CITIES);
    const local = `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '');
    people.push({
      index: i,
      firstName,
      lastName,
      email: `${local}.${i}@${company.toLowerCase().replace(/[^a-z]/g, '')}.example`,
      phone: `+1415555${String(1000 + i).slice(-4)}`,
      company,
      jobTitle: pick(TITLES),
      address: { line1: `${1 + Math.floor(rnd() * 999)} Main Street`, city, region, postalCode, country },
    });
  }
  return people;
}

/** Fixed epoch for seeded timestamps (2026-01-01T00:00:00Z) so data does not drift between runs. */
export const DEMO_EPOCH_MS = Date.UTC(2026, 0, 1);
