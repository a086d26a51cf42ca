// Epoch milliseconds → ISO 8601 in UTC, the way `Date.prototype.toISOString` writes them, with
// integer arithmetic: mappers turn several timestamps per record into strings, on every record
// read, and toISOString costs ~1 µs each (a Date object, then its formatting).

const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z
const DAY_MS = 86_400_000;

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
const four = (n: number) => (n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` (`2026-01-15T10:00:00.000Z`); with `millis` false, a whole second is
 * written without its `.000` (`2026-01-15T10:00:00Z`). Outside whole milliseconds of the years
 * 1970–9999 it asks Date itself (and throws like it for a non-finite value).
 */
export function isoString(ms: number, millis = true): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= MAX_FOUR_DIGIT_YEAR_MS) {
    const iso = new Date(ms).toISOString();
    return millis ? iso : iso.replace('.000Z', 'Z');
  }
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const milliseconds = rest - seconds * 1000;
  // Days since 1970-01-01 → proleptic Gregorian year, month, day (H. Hinnant's days_from_civil, inverted).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const time = `${two(hours)}:${two(minutes)}:${two(seconds)}`;
  const fraction = millis || milliseconds !== 0 ? `.${three(milliseconds)}` : '';
  return `${four(year)}-${two(month)}-${two(day)}T${time}${fraction}Z`;
}
