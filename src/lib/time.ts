/**
 * Formats a UTC instant as Python's `str(datetime)` of an aware UTC datetime:
 * `2026-11-27 11:12:12.750000+00:00`, the fraction omitted when it is zero.
 * The contract's "Token has expired at …" message uses this form.
 */
export function pythonUtcString(date: Date): string {
  const iso = date.toISOString(); // 2026-11-27T11:12:12.750Z
  const ms = date.getUTCMilliseconds();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return ms === 0 ? `${base}+00:00` : `${base}.${String(ms * 1000).padStart(6, '0')}+00:00`;
}
